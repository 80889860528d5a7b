"""An HTTP/2 client (cleartext, prior knowledge) that accepts server push,
as browsers once did: SETTINGS_ENABLE_PUSH=1.  curl never enables push.

    python3 h2push.py HOST PORT PATH [NAME:VALUE ...]

GETs PATH with the extra header fields, reads until its stream and every
stream the server promised are closed (or 5 s pass), and prints each
stream's body after a line "== stream N" (" pushed" for a promised one),
each such line after a newline of its own.
Response header blocks are not decoded: HPACK is not needed for bodies.
"""
import socket
import struct
import sys
import time

DATA, HEADERS, RST_STREAM, SETTINGS, PUSH_PROMISE, GOAWAY = 0, 1, 3, 4, 5, 7
END_STREAM, END_HEADERS, PADDED, ACK = 0x1, 0x4, 0x8, 0x1


def frame(kind, flags, stream, payload):
    return (struct.pack(">I", len(payload))[1:] + bytes([kind, flags])
            + struct.pack(">I", stream) + payload)


def field(name, value):
    """A literal header field, new name, not indexed (RFC 7541 6.2.2)."""
    name, value = name.encode(), value.encode()
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    block = (field(":method", "GET") + field(":scheme", "http")
             + field(":path", path) + field(":authority", "%s:%d" % (host, port)))
    for extra in sys.argv[4:]:
        name, value = extra.split(":", 1)
        block += field(name.lower(), value)
    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                 + frame(SETTINGS, 0, 0, struct.pack(">HI", 2, 1))
                 + frame(HEADERS, END_STREAM | END_HEADERS, 1, block))
    buf, bodies, open_streams, pushed = b"", {1: b""}, {1}, set()
    deadline = time.time() + 5
    while open_streams and time.time() < deadline:
        while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], "big"):
            more = sock.recv(65536)
            if not more:
                open_streams.clear()
                break
            buf += more
        if not open_streams:
            break
        size = int.from_bytes(buf[:3], "big")
        kind, flags = buf[3], buf[4]
        stream = struct.unpack(">I", buf[5:9])[0] & 0x7FFFFFFF
        payload, buf = buf[9:9 + size], buf[9 + size:]
        if kind == SETTINGS and not flags & ACK:
            sock.sendall(frame(SETTINGS, ACK, 0, b""))
        elif kind == PUSH_PROMISE:
            at = 1 if flags & PADDED else 0
            promised = struct.unpack(">I", payload[at:at + 4])[0] & 0x7FFFFFFF
            open_streams.add(promised)
            pushed.add(promised)
            bodies[promised] = b""
        elif kind == DATA:
            at, pad = (1, payload[0]) if flags & PADDED else (0, 0)
            bodies[stream] = bodies.get(stream, b"") + payload[at:len(payload) - pad]
        elif kind == GOAWAY:
            break
        if kind == RST_STREAM or (kind in (DATA, HEADERS) and flags & END_STREAM):
            open_streams.discard(stream)
    sock.close()
    for stream in sorted(bodies):
        print("\n== stream %d%s" % (stream, " pushed" if stream in pushed else ""))
        sys.stdout.write(bodies[stream].decode(errors="replace"))


if __name__ == "__main__":
    main()
