"""The demo application: a deliberately slow page (200 ms to render)."""
import os
import time


def application(environ, start_response):
    time.sleep(0.2)
    body = ("<h1>Hello from mod_sharedcache's demo</h1>\n"
            "<p>Rendered by process %d at %s, which took 200 ms.</p>\n"
            % (os.getpid(), time.strftime("%H:%M:%S"))).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
