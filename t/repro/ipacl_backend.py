# A backend that lets in only 127.0.0.1 (by the X-Forwarded-For the
# gateway adds, as an IP allowlist behind a reverse proxy does) and says so
# with Vary: X-Forwarded-For.  Usage: python3 ipacl_backend.py PORT
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        xff = self.headers.get("X-Forwarded-For", "")
        if xff.split(",")[-1].strip() == "127.0.0.1":
            status, body = 200, b"internal report for 127.0.0.1: SECRET\n"
        else:
            # under /hide/ the backend hides the resource from outsiders (404)
            status = 404 if self.path.startswith("/hide/") else 403
            body = b"not for %s\n" % xff.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=60")
        self.send_header("Vary", "X-Forwarded-For")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
