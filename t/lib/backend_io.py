"""What the tests' protocol backends (fcgi_echo.py, ajp_echo.py) share."""
import threading


def read_exact(conn, n):
    """n bytes from a socket; EOFError where the peer closes first."""
    data = b''
    while len(data) < n:
        more = conn.recv(n - len(data))
        if not more:
            raise EOFError
        data += more
    return data


def serve_forever(listener, serve):
    """Listen, and run serve(conn) in a thread of its own per connection."""
    listener.listen(64)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
