"""WSGI test application for the mod_sharedcache suite.

Every render appends one line to renders.log beside this file, so a test
can count how often the backend really ran, across all daemon processes.
The query string chooses what the response looks like:

  cc=VALUE       Cache-Control header      sc=VALUE   Surrogate-Control
  expires=VALUE  Expires header            vary=VALUE Vary header
  cookie=1       a Set-Cookie header       status=N   the status code
  size=N         body of N bytes           sleep=MS   render slowly
  etag=VALUE     ETag header               lm=VALUE   Last-Modified
  date=VALUE     Date header               age=VALUE  Age header
  reflect=NAME   echo a request header into the body
  env=A,B        echo environment variables into the body (A=value)
  sk=TAGS        Surrogate-Key header      inv=TAGS   X-SharedCache-Invalidate
  loc=URL        Location header       cloc=URL   Content-Location
  cond=1         answer 304 (headers only, logged in not-modified.log) when
                 If-None-Match is the etag= value; h304=NAME:VAL|NAME:VAL
                 more headers of the 304 only; body304=N: the 304 writes a
                 body of N bytes "X" anyway (as careless scripts do)
  expin=N        Expires N seconds from now (on the 200 and the 304)
  etagif=NAME:V  send the etag= only when request header NAME is V
  hdr=NAME:VAL   one more response header (TOKEN in VAL: the render's token)
  text=TEXT      the body is TEXT, with each TOKEN in it replaced by the
                 render's token (pages made of ESI or SSI markup)
  esiparts=N     with size=S: an ESI page of S bytes, a shell and N
                 <esi:include src="/app/part/I?size=P"/> (P: S // (N + 1)),
                 whose parts together with the shell are S bytes
  failable=1     answer 503 while a file named "fail" exists beside the app
  stream=N       body of N pieces of 100,000 bytes without Content-Length,
                 chunkms=MS apart; crash=1: fail after the first piece
  type=TYPE      the Content-Type (default text/html; charset=utf-8)
  gz=1           compress the body itself for clients that accept gzip
                 (with Vary: Accept-Encoding), as Django's GZipMiddleware
"""
import gzip
import hashlib
import os
import time
import uuid
from urllib.parse import parse_qs

HERE = os.path.dirname(os.path.abspath(__file__))
RENDERS = os.path.join(HERE, "renders.log")


def record(environ):
    line = environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")
    with open(RENDERS, "a") as f:
        f.write(line.replace("\n", "\\n") + "\n")


def body_of(size, token):
    """A deterministic filler of exactly size bytes after a unique token."""
    head = ("token=%s\n" % token).encode()
    if size <= len(head):
        return head[:max(size, 0)] if size else head
    block = hashlib.sha256(b"mod_sharedcache").hexdigest().encode() + b"\n"
    fill = (block * (size // len(block) + 1))[: size - len(head)]
    return head + fill


def expires_in(seconds):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                         time.gmtime(time.time() + seconds))


def application(environ, start_response):
    q = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", ""),
                                       keep_blank_values=True).items()}
    if (q.get("cond") and "etag" in q
            and environ.get("HTTP_IF_NONE_MATCH") == q["etag"]):
        if "sleep" in q:
            time.sleep(int(q["sleep"]) / 1000.0)
        with open(os.path.join(HERE, "not-modified.log"), "a") as f:
            f.write(environ.get("PATH_INFO", "") + "\n")
        headers = [("ETag", q["etag"])]
        if "cc" in q:
            headers.append(("Cache-Control", q["cc"]))
        if "hdr" in q and ":" in q["hdr"]:
            headers.append(tuple(q["hdr"].split(":", 1)))
        for item in q.get("h304", "").split("|"):
            if ":" in item:
                headers.append(tuple(item.split(":", 1)))
        if "expin" in q:
            headers.append(("Expires", expires_in(int(q["expin"]))))
        start_response("304 Not Modified", headers)
        return [b"X" * int(q.get("body304", "0"))]
    record(environ)
    if "sleep" in q:
        time.sleep(int(q["sleep"]) / 1000.0)
    status = int(q.get("status", "200"))
    if "allow" in q and ":" in q["allow"]:
        # an address allowlist behind a gateway: the last X-Forwarded-For
        # item (the address the gateway saw) must be the one named
        name, value = q["allow"].split(":", 1)
        seen = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
        if seen.split(",")[-1].strip() != value:
            status = int(q.get("deny", "403"))
    if q.get("failable") and os.path.exists(os.path.join(HERE, "fail")):
        status = 503
    token = uuid.uuid4().hex
    if "text" in q:
        body = q["text"].replace("TOKEN", token).encode()
    elif "esiparts" in q:
        n, size = int(q["esiparts"]), int(q["size"])
        part = size // (n + 1)
        incs = "".join('<esi:include src="/app/part/%d?size=%d"/>' % (i, part)
                       for i in range(n))
        body = ("s" * (size - n * part - 1) + "\n" + incs).encode()
    elif "size" in q:
        body = body_of(int(q["size"]), token)
    else:
        body = ("<html><body>path=%s token=%s</body></html>\n"
                % (environ.get("PATH_INFO"), token)).encode()
    if "reflect" in q:
        name = "HTTP_" + q["reflect"].upper().replace("-", "_")
        body += ("reflected=%s\n" % environ.get(name, "")).encode()
    if "env" in q:
        for name in q["env"].split(","):
            body += ("%s=%r\n" % (name, environ.get(name))).encode()
    headers = [("Content-Type", q.get("type", "text/html; charset=utf-8")),
               ("X-Render-Token", token)]
    if q.get("gz"):
        # compresses itself, as Django's GZipMiddleware does
        headers.append(("Vary", "Accept-Encoding"))
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            body = gzip.compress(body, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
    if "stream" not in q:
        headers.append(("Content-Length", str(len(body))))
    if "etagif" in q and ":" in q["etagif"]:
        name, value = q["etagif"].split(":", 1)
        if environ.get("HTTP_" + name.upper().replace("-", "_")) != value:
            q.pop("etag", None)
    for param, header in (("cc", "Cache-Control"), ("sc", "Surrogate-Control"),
                          ("expires", "Expires"), ("vary", "Vary"),
                          ("etag", "ETag"), ("lm", "Last-Modified"),
                          ("date", "Date"), ("age", "Age"),
                          ("sk", "Surrogate-Key"), ("loc", "Location"),
                          ("cloc", "Content-Location"),
                          ("inv", "X-SharedCache-Invalidate")):
        if param in q:
            headers.append((header, q[param]))
    if "hdr" in q and ":" in q["hdr"]:
        name, value = q["hdr"].split(":", 1)
        headers.append((name, value.replace("TOKEN", token)))
    if "expin" in q:
        headers.append(("Expires", expires_in(int(q["expin"]))))
    if q.get("cookie"):
        headers.append(("Set-Cookie", "sessionid=%s; Path=/" % token))
    reasons = {200: "OK", 201: "Created", 203: "Non-Authoritative Information", 303: "See Other", 403: "Forbidden",
               404: "Not Found", 410: "Gone", 500: "Internal Server Error",
               503: "Service Unavailable", 301: "Moved Permanently"}
    if status in (301, 308) and "loc" not in q:
        headers.append(("Location", "/app/elsewhere"))
    start_response("%d %s" % (status, reasons.get(status, "Status")), headers)
    if "stream" in q:
        return streamed(body, int(q["stream"]), int(q.get("chunkms", "0")),
                        q.get("crash"))
    return [body]


def streamed(head, pieces, chunkms, crash):
    yield head
    for i in range(pieces):
        if chunkms:
            time.sleep(chunkms / 1000.0)
        if crash and i == 1:
            raise RuntimeError("the backend failed in the middle of the body")
        yield b"x" * 100000
