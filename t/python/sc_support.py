"""Shared helpers of the Python package's tests.

Importing this puts the repository's python/ directory first on sys.path,
so the tests exercise the package of this checkout.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PYTHON_DIR = os.path.join(ROOT, "python")
if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Memcached:
    """A memcached of our own on a free loopback port, stopped by PID."""

    def __init__(self, unix=False):
        exe = shutil.which("memcached") or "/usr/bin/memcached"
        if not os.path.exists(exe):
            raise unittest_skip("memcached is not installed")
        self.socket_path = None
        if unix:
            self.tmpdir = tempfile.mkdtemp(prefix="sc-py-")
            os.chmod(self.tmpdir, 0o777)       # memcached may run as nobody
            self.socket_path = os.path.join(self.tmpdir, "memcached.sock")
        for _ in range(5):
            self.port = free_port()
            cmd = [exe, "-U", "0", "-m", "16"]
            if unix:
                cmd += ["-s", self.socket_path]
            else:
                cmd += ["-l", "127.0.0.1", "-p", str(self.port)]
            if os.geteuid() == 0:
                cmd += ["-u", "nobody"]
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            if self._wait_ready():
                return
            self.stop()
        raise RuntimeError("memcached did not start")

    def _connect(self, timeout):
        if self.socket_path:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.settimeout(timeout)
                s.connect(self.socket_path)
            except OSError:
                s.close()
                raise
            return s
        return socket.create_connection(("127.0.0.1", self.port), timeout)

    def _wait_ready(self):
        deadline = time.time() + 5
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with self._connect(0.2):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    @property
    def address(self):
        """As SharedCacheServers and sharedcache.Client take it."""
        return self.socket_path or "127.0.0.1:%d" % self.port

    def stop(self):
        # SIGKILL by PID: memcached acts on SIGTERM only at its next
        # once-a-second clock tick, and a test server keeps nothing.
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.socket_path:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    # Raw text protocol, independent of pylibmc.
    def command(self, line, payload=None):
        with self._connect(2) as s:
            data = line.encode("ascii") + b"\r\n"
            if payload is not None:
                data += payload + b"\r\n"
            s.sendall(data)
            buf = b""
            while not (buf.endswith(b"END\r\n") or buf.endswith(b"STORED\r\n")
                       or buf.endswith(b"DELETED\r\n")
                       or buf.endswith(b"NOT_FOUND\r\n")
                       or buf.endswith(b"OK\r\n")
                       or b"ERROR" in buf):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            return buf

    def set(self, key, value):
        value = value if isinstance(value, bytes) else str(value).encode()
        reply = self.command("set %s 0 0 %d" % (key, len(value)), value)
        assert reply == b"STORED\r\n", reply

    def get(self, key):
        reply = self.command("get %s" % key)
        if reply == b"END\r\n":
            return None
        header, _, rest = reply.partition(b"\r\n")
        length = int(header.split()[3])
        return rest[:length]

    def delete(self, key):
        self.command("delete %s" % key)

    def flush_all(self):
        assert self.command("flush_all") == b"OK\r\n"


def unittest_skip(reason):
    import unittest
    return unittest.SkipTest(reason)
