"""An RFC 3161 time-stamping authority on loopback for the tests, made with OpenSSL (the
`cryptography` package has no RFC 3161 support): `tests/tsa/make-tsa.sh` makes a CA and a
TSA certificate in DIR, and each POSTed `TimeStampReq` is answered by `openssl ts -reply`.

    tsa_server.py DIR [FAIL_ALL]

FAIL_ALL=1 answers every request 503 (a TSA that is down). The CA certificate is
DIR/ca.pem; the port is printed on stdout.
"""

import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
FAIL_ALL = len(sys.argv) > 2 and sys.argv[2] == "1"
HERE = os.path.dirname(os.path.abspath(__file__))
LOCK = threading.Lock()
subprocess.run(["sh", os.path.join(HERE, "..", "tsa", "make-tsa.sh"), DIR], check=True,
               stdout=subprocess.DEVNULL)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if FAIL_ALL:
            self.send_response(503)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        with LOCK, tempfile.TemporaryDirectory() as t:
            q, r = os.path.join(t, "q.tsq"), os.path.join(t, "r.tsr")
            open(q, "wb").write(body)
            done = subprocess.run(
                ["openssl", "ts", "-reply", "-config", os.path.join(DIR, "tsa.cnf"),
                 "-queryfile", q, "-inkey", os.path.join(DIR, "tsa.key"),
                 "-signer", os.path.join(DIR, "tsa.pem"), "-out", r],
                capture_output=True)
            answer = open(r, "rb").read() if done.returncode == 0 else b""
        status = 200 if answer else 400
        self.send_response(status)
        self.send_header("content-type", "application/timestamp-reply")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
