"""A minimal OpenID Connect provider on loopback for the Console's sign-in test: discovery,
JWKS, an authorization endpoint that approves at once (it is the test's user) and a token
endpoint that checks PKCE (S256) before issuing an RS256 access token with the tenant and
scopes, signed by PyJWT. Every answer allows any origin (the Console calls discovery and the
token endpoint from the browser).

usage: oidc_provider.py --audience AUD --tenant T --scopes "a b" --client-id ID --log FILE
prints the port it listens on, then serves until killed. FILE gets one JSON line per
request (path and, for /token, whether PKCE matched).
"""
import argparse
import base64
import hashlib
import json
import secrets
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--audience", "--tenant", "--scopes", "--client-id", "--log"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "console-1", "use": "sig", "alg": "RS256"})
    codes = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def issuer(self):
            return f"http://127.0.0.1:{self.server.server_address[1]}"

        def answer(self, status, body=None, headers=()):
            self.send_response(status)
            self.send_header("access-control-allow-origin", "*")
            self.send_header("access-control-allow-headers", "content-type")
            for k, v in headers:
                self.send_header(k, v)
            data = json.dumps(body).encode() if body is not None else b""
            if body is not None:
                self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def note(self, **fields):
            with open(args.log, "a") as f:
                f.write(json.dumps(dict(path=self.path.split("?")[0], **fields)) + "\n")

        def do_OPTIONS(self):
            self.answer(204)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            self.note()
            if url.path == "/.well-known/openid-configuration":
                i = self.issuer()
                return self.answer(200, {"issuer": i, "authorization_endpoint": f"{i}/authorize",
                                         "token_endpoint": f"{i}/token", "jwks_uri": f"{i}/certs",
                                         "code_challenge_methods_supported": ["S256"]})
            if url.path == "/certs":
                return self.answer(200, {"keys": [public]})
            if url.path == "/authorize":
                if (q.get("response_type") != "code" or q.get("client_id") != args.client_id
                        or q.get("code_challenge_method") != "S256" or not q.get("code_challenge")):
                    return self.answer(400, {"error": "invalid_request"})
                code = secrets.token_urlsafe(16)
                codes[code] = (q["code_challenge"], q["redirect_uri"])
                target = q["redirect_uri"] + ("&" if "?" in q["redirect_uri"] else "?") + \
                    urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
                return self.answer(302, None, [("location", target)])
            self.answer(404, {"error": "not_found"})

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if self.path != "/token":
                return self.answer(404, {"error": "not_found"})
            challenge, redirect = codes.pop(form.get("code", ""), (None, None))
            verifier = form.get("code_verifier", "")
            ok = (challenge is not None and form.get("grant_type") == "authorization_code"
                  and form.get("client_id") == args.client_id and form.get("redirect_uri") == redirect
                  and b64(hashlib.sha256(verifier.encode()).digest()) == challenge)
            self.note(pkce=ok)
            if not ok:
                return self.answer(400, {"error": "invalid_grant"})
            now = int(time.time())
            token = jwt.encode({"iss": self.issuer(), "aud": args.audience, "sub": "carol@idp",
                                "tenant": args.tenant, "scope": args.scopes, "iat": now,
                                "exp": now + 600}, key, algorithm="RS256", headers={"kid": "console-1"})
            self.answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": 600})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
