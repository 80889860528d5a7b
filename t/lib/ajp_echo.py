#!/usr/bin/env python3
"""An AJP13 container for the tests (what Tomcat or Jetty are behind
mod_proxy_ajp): it answers every forwarded request with a text/plain page
of its URI, its query and a count of the requests it rendered.  The query
picks the answer: nolen=1 sends no Content-Length, noend=1 closes the
connection after the first body chunk, without END_RESPONSE (a container
whose application broke off mid-stream), short=1 declares a Content-Length
longer than the body and ends it with END_RESPONSE (a servlet that set a
length and wrote less).

Usage: ajp_echo.py PORT
"""
import itertools
import socket
import struct
import sys
import urllib.parse

from backend_io import read_exact, serve_forever

RENDERED = itertools.count(1)
FORWARD_REQUEST, CPING = 2, 10
SEND_BODY_CHUNK, SEND_HEADERS, END_RESPONSE, CPONG = 3, 4, 5, 9
QUERY_STRING, ATTRIBUTES_END = 5, 0xFF


def packet(payload):
    """A container-to-server packet: "AB", its length, its payload."""
    return b'AB' + struct.pack('>H', len(payload)) + payload


def string(text):
    raw = text.encode('latin-1')
    return struct.pack('>H', len(raw)) + raw + b'\0'


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def byte(self):
        self.at += 1
        return self.data[self.at - 1]

    def short(self):
        self.at += 2
        return struct.unpack('>H', self.data[self.at - 2:self.at])[0]

    def string(self):
        n = self.short()
        if n == 0xFFFF:
            return None
        self.at += n + 1
        return self.data[self.at - n - 1:self.at - 1].decode('latin-1')


def request_of(payload):
    """The URI and the query string of a FORWARD_REQUEST."""
    r = Reader(payload)
    r.byte()  # the packet's type
    r.byte()  # the method
    r.string()  # the protocol
    uri = r.string()
    r.string(), r.string(), r.string()  # remote_addr, remote_host, server
    r.short(), r.byte()  # the port, is_ssl
    for _ in range(r.short()):
        if r.data[r.at] == 0xA0:
            r.short()  # a coded header name
        else:
            r.string()
        r.string()
    query = ''
    while r.at < len(r.data):
        code = r.byte()
        if code == ATTRIBUTES_END:
            break
        if code == 10:  # a request attribute: name and value
            r.string()
            r.string()
        elif code == 11:  # ssl_key_size
            r.short()
        elif code == QUERY_STRING:
            query = r.string() or ''
        else:
            r.string()
    return uri, query


def answer(conn, uri, query):
    """Send the page; False if the connection was closed on purpose."""
    asked = urllib.parse.parse_qs(query)
    body = ('uri=%s query=%s n=%d\n' % (uri, query, next(RENDERED))).encode()
    headers = [('Content-Type', 'text/plain')]
    if 'nolen' not in asked and 'noend' not in asked:
        declared = len(body) + (1000 if 'short' in asked else 0)
        headers.append(('Content-Length', str(declared)))
    start = bytes([SEND_HEADERS]) + struct.pack('>H', 200) + string('OK')
    start += struct.pack('>H', len(headers))
    for name, value in headers:
        start += string(name) + string(value)
    conn.sendall(packet(start))
    conn.sendall(packet(bytes([SEND_BODY_CHUNK]) + struct.pack('>H', len(body))
                        + body + b'\0'))
    if 'noend' in asked:
        return False
    conn.sendall(packet(bytes([END_RESPONSE, 1])))  # 1: the connection stays
    return True


def serve(conn):
    try:
        while True:
            head = read_exact(conn, 4)
            payload = read_exact(conn, struct.unpack('>H', head[2:])[0])
            if not payload:
                continue  # an empty body chunk: the request's body ended
            if payload[0] == CPING:
                conn.sendall(packet(bytes([CPONG])))
            elif payload[0] == FORWARD_REQUEST:
                if not answer(conn, *request_of(payload)):
                    return
            # anything else is a request body's chunk: GETs send none
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('127.0.0.1', int(sys.argv[1])))
    serve_forever(listener, serve)


if __name__ == '__main__':
    main()
