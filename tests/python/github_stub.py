"""A loopback stand-in for GitHub's code scanning API (the delivery tests), checking what
GitHub checks on an upload: the token, the API headers, `commit_sha` (40 or 64 hex
digits), `ref` (`refs/…`), and `sarif` — base64 of gzip of a SARIF 2.1.0 log — at most
10 MB compressed.

    github_stub.py TOKEN LOG_JSONL [FAIL_FIRST]

`POST /repos/{owner}/{repo}/code-scanning/sarifs` answers 503 to the first FAIL_FIRST uploads
(default 1), then 202
`{"id", "url"}`; `GET …/sarifs/{id}` answers `pending` once, then `complete`;
`GET /repos/{owner}/{repo}` answers 200 to the token. Every request is appended to
LOG_JSONL (uploads with the decoded SARIF's run and result counts). The port is printed on
stdout.
"""

import base64
import gzip
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN, LOG = sys.argv[1], sys.argv[2]
FAIL_FIRST = int(sys.argv[3]) if len(sys.argv) > 3 else 1
LOCK = threading.Lock()
STATE = {"uploads": 0, "polls": {}}
MAX_GZIPPED = 10 * 1024 * 1024


def log(record):
    with LOCK, open(LOG, "a") as f:
        f.write(json.dumps(record) + "\n")


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorised(self):
        ok = (self.headers.get("authorization") == f"Bearer {TOKEN}"
              and self.headers.get("accept") == "application/vnd.github+json"
              and self.headers.get("x-github-api-version") == "2022-11-28")
        if not ok:
            self.answer(401, {"message": "Bad credentials"})
        return ok

    def do_GET(self):
        log({"method": "GET", "path": self.path})
        if not self.authorised():
            return
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/code-scanning/sarifs/([^/]+)", self.path)
        if m:
            with LOCK:
                n = STATE["polls"].get(m[3], 0) + 1
                STATE["polls"][m[3]] = n
            status = "pending" if n == 1 else "complete"
            return self.answer(200, {"processing_status": status, "analyses_url": "…"})
        if re.fullmatch(r"/repos/[^/]+/[^/]+", self.path):
            return self.answer(200, {"full_name": self.path[len("/repos/"):]})
        self.answer(404, {"message": "Not Found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/code-scanning/sarifs", self.path)
        if not m:
            log({"method": "POST", "path": self.path})
            return self.answer(404, {"message": "Not Found"})
        if not self.authorised():
            return
        problems, runs, results = [], None, None
        try:
            req = json.loads(body)
            if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", req.get("commit_sha", "")):
                problems.append("commit_sha")
            if not req.get("ref", "").startswith("refs/"):
                problems.append("ref")
            packed = base64.b64decode(req["sarif"], validate=True)
            if len(packed) > MAX_GZIPPED:
                problems.append("sarif too large")
            sarif = json.loads(gzip.decompress(packed))
            if sarif.get("version") != "2.1.0":
                problems.append("sarif version")
            runs = len(sarif["runs"])
            results = sum(len(r.get("results", [])) for r in sarif["runs"])
        except Exception as e:  # not JSON, not base64, not gzip, not SARIF
            problems.append(f"{type(e).__name__}: {e}")
        with LOCK:
            STATE["uploads"] += 1
            n = STATE["uploads"]
        record = {"method": "POST", "path": self.path, "problems": problems, "runs": runs,
                  "results": results, "tool_name": json.loads(body or b"{}").get("tool_name")}
        if problems:
            log({**record, "status": 422})
            return self.answer(422, {"message": "Invalid request", "errors": problems})
        if n <= FAIL_FIRST:
            log({**record, "status": 503})
            return self.answer(503, {"message": "Service unavailable"})
        log({**record, "status": 202})
        self.answer(202, {"id": f"sarif-{n}", "url": f"{self.path}/sarif-{n}"})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
