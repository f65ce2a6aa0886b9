"""A real SMTP server for the email delivery tests (aiosmtpd from PyPI), on loopback.

    smtp_receiver.py MAILBOX_JSONL FAIL_FIRST

Answers the first FAIL_FIRST messages `451` (try again later), then accepts; every
accepted message is parsed with the standard library's `email` package and appended to
MAILBOX_JSONL as `{"from", "to", "subject", "message_id", "text", "html", "attachments":
[{"filename", "content_type", "size", "sha256"}]}`. The port is printed on stdout.
"""

import hashlib
import json
import socket
import sys
import threading
import time
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

MAILBOX, FAIL_FIRST = sys.argv[1], int(sys.argv[2])
LOCK = threading.Lock()
COUNT = {"n": 0}


class Handler:
    async def handle_DATA(self, server, session, envelope):
        with LOCK:
            COUNT["n"] += 1
            n = COUNT["n"]
        if n <= FAIL_FIRST:
            return "451 4.3.0 try again later"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        attachments = []
        for part in msg.iter_attachments():
            data = part.get_payload(decode=True) or b""
            attachments.append({
                "filename": part.get_filename(), "content_type": part.get_content_type(),
                "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            })
        record = {
            "from": str(msg["from"]), "to": envelope.rcpt_tos, "subject": str(msg["subject"]),
            "message_id": str(msg["message-id"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
            "attachments": attachments,
        }
        with LOCK, open(MAILBOX, "a") as f:
            f.write(json.dumps(record) + "\n")
        return "250 OK"


with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print(port, flush=True)
while True:
    time.sleep(3600)
