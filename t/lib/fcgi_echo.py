#!/usr/bin/env python3
"""A FastCGI responder for the tests (PHP-FPM's place behind
mod_proxy_fcgi): answers every request with a fresh token and the
parameters named in ?env=A,B (the FastCGI parameters it received), with
Cache-Control from ?cc= (default max-age=60) and a Content-Length.
Usage: fcgi_echo.py PORT, or fcgi_echo.py PATH for a unix socket (PHP-FPM's
default), which it makes writable by anyone."""
import os
import socket
import struct
import sys
import uuid
from urllib.parse import parse_qs

from backend_io import read_exact, serve_forever

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def name_values(data):
    out, i = {}, 0
    while i < len(data):
        lens = []
        for _ in range(2):
            if data[i] & 0x80:
                lens.append(struct.unpack('>I', data[i:i + 4])[0] & 0x7fffffff)
                i += 4
            else:
                lens.append(data[i])
                i += 1
        name = data[i:i + lens[0]].decode('latin1')
        i += lens[0]
        out[name] = data[i:i + lens[1]].decode('latin1')
        i += lens[1]
    return out


def record(kind, rid, content):
    out = b''
    while True:
        chunk, content = content[:65535], content[65535:]
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack('>BBHHBx', 1, kind, rid, len(chunk), pad)
        out += chunk + b'\0' * pad
        if not content:
            return out


def answer(env):
    q = {k: v[-1] for k, v in parse_qs(env.get('QUERY_STRING', '')).items()}
    body = 'token=%s\n' % uuid.uuid4().hex
    for name in filter(None, q.get('env', '').split(',')):
        body += '%s=%r\n' % (name, env.get(name))
    body = body.encode()
    head = ('Status: 200 OK\r\nContent-Type: text/plain\r\n'
            'Cache-Control: %s\r\nContent-Length: %d\r\n\r\n'
            % (q.get('cc', 'max-age=60'), len(body))).encode()
    return head + body


def serve(s):
    try:
        while True:
            params, rid, keep = b'', 0, 0
            while True:
                _, kind, r, clen, plen = struct.unpack('>BBHHBx',
                                                       read_exact(s, 8))
                content = read_exact(s, clen)
                read_exact(s, plen)
                if kind == BEGIN:
                    rid, keep = r, content[2] & 1
                elif kind == PARAMS:
                    params += content
                elif kind == STDIN and clen == 0:
                    break
            s.sendall(record(STDOUT, rid, answer(name_values(params)))
                      + record(STDOUT, rid, b'')
                      + record(END, rid, struct.pack('>IB3x', 0, 0)))
            if not keep:
                return
    except EOFError:
        pass
    finally:
        s.close()


def main():
    where = sys.argv[1]
    if where.isdigit():
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(('127.0.0.1', int(where)))
    else:
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(where)
        os.chmod(where, 0o777)
    serve_forever(srv, serve)


if __name__ == '__main__':
    main()
