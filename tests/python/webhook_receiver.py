"""A webhook receiver for the delivery tests: verifies every request with the Standard
Webhooks reference library (`standardwebhooks` from PyPI), an implementation independent of
ExportCenter's signer.

    webhook_receiver.py SECRETS_JSON LOG_JSONL

SECRETS_JSON maps a path (`/a`) to its `whsec_` secret (or `"plain": true` for a chat
channel's unsigned JSON) and `fail_first` (how many requests
of each webhook-id (or chat channel) to answer 500 before answering 204); it is read on every request, so
the test may write it after the server started. Every request is appended to LOG_JSONL as
`{"path", "id", "timestamp", "verified", "error", "status", "payload"}`. The port is
printed on the first line of stdout.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

SECRETS, LOG = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()
SEEN = {}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with open(SECRETS) as f:
            conf = json.load(f).get(self.path, {})
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified, error, payload = False, None, None
        if conf.get("plain"):
            # A chat channel's incoming webhook: JSON, unsigned (the URL is the secret).
            payload, verified = json.loads(body), True
        else:
            try:
                payload = Webhook(conf["secret"]).verify(body, headers)
                verified = True
            except Exception as e:  # the library's WebhookVerificationError, or no secret
                error = f"{type(e).__name__}: {e}"
        msg_id = headers.get("webhook-id")
        key = msg_id or self.path  # chat messages carry no id: count by channel
        with LOCK:
            SEEN[key] = SEEN.get(key, 0) + 1
            n = SEEN[key]
        status = 500 if n <= conf.get("fail_first", 0) or not verified else 204
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps({
                "path": self.path, "id": msg_id, "timestamp": headers.get("webhook-timestamp"),
                "verified": verified, "error": error, "status": status, "payload": payload,
            }) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
