"""Plays an identity provider for tests/tests/oidc.rs: generates RSA and EC keys, writes two
key sets (before and after a rotation) and signs one token per case with PyJWT, so the
verifier is checked against an implementation that is not its own.

usage: oidc_tokens.py --issuer URL --audience AUD --tenant T --out DIR
writes DIR/jwks-before.json, DIR/jwks-after.json and DIR/tokens.json ({case: token}).
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(public_key, kid: str, alg: str) -> dict:
    algo = RSAAlgorithm if alg == "RS256" else ECAlgorithm
    key = json.loads(algo.to_jwk(public_key))
    key.update({"kid": kid, "use": "sig", "alg": alg})
    return key


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--audience", required=True)
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    rsa_old = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    outsider = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    before = {"keys": [jwk(rsa_old.public_key(), "rsa-old", "RS256"),
                       jwk(ec_key.public_key(), "ec-1", "ES256")]}
    after = {"keys": [jwk(rsa_new.public_key(), "rsa-new", "RS256"),
                      jwk(ec_key.public_key(), "ec-1", "ES256")]}

    now = int(time.time())
    claims = {"iss": a.issuer, "aud": a.audience, "sub": "alice@idp", "tenant": a.tenant,
              "scope": "export:read export:write scan:write", "iat": now, "exp": now + 600}

    def sign(key, kid, alg="RS256", **changes):
        body = dict(claims, **changes)
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})

    def unsigned(header: dict) -> str:
        return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."

    # HS256 keyed with the provider's public RSA key: the classic algorithm confusion.
    public_pem = rsa_old.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-old"}).encode())
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    confused = f"{head}.{body}.{b64(mac)}"

    tokens = {
        "valid_rs256": sign(rsa_old, "rsa-old"),
        "valid_es256": sign(ec_key, "ec-1", alg="ES256"),
        "wrong_iss": sign(rsa_old, "rsa-old", iss="https://evil.example/"),
        "wrong_aud": sign(rsa_old, "rsa-old", aud="another-api"),
        "expired": sign(rsa_old, "rsa-old", exp=now - 600, iat=now - 1200),
        "nbf_future": sign(rsa_old, "rsa-old", nbf=now + 600),
        "unknown_kid": sign(outsider, "not-in-the-set"),
        "outsider_known_kid": sign(outsider, "rsa-old"),
        "alg_none": unsigned({"alg": "none", "typ": "JWT"}),
        "hs256_public_key": confused,
        "rotated_in": sign(rsa_new, "rsa-new"),
        "rotated_out": sign(rsa_old, "rsa-old"),
    }
    os.makedirs(a.out, exist_ok=True)
    for name, doc in [("jwks-before.json", before), ("jwks-after.json", after),
                      ("tokens.json", tokens)]:
        with open(os.path.join(a.out, name), "w") as f:
            json.dump(doc, f)


if __name__ == "__main__":
    main()
