"""Verifies an extracted sealed bundle with tools ExportCenter did not write: the DSSE
envelope with securesystemslib (PyPI; ed25519 or ecdsa-sha2-nistp256 keys, loaded from the
bundle's SPKI PEM by pyca/cryptography), and the in-toto Statement it carries with the
in-toto attestation framework's own v1 Statement validator (in-toto-attestation, PyPI).

    check_dsse.py BUNDLE_DIR [TRUSTED_KEY_PEM]

Prints `OK <scheme> <keyid>` and exits 0, or prints why and exits 1.
"""

import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

SCHEMES = {"ed25519": "ed25519", "ecdsa-p256-sha256": "ecdsa-sha2-nistp256"}


def main(directory, trusted=None):
    manifest = json.load(open(f"{directory}/manifest.json"))
    signature = manifest["signature"]
    scheme = SCHEMES[signature["algorithm"]]
    pem = open(trusted or f"{directory}/{signature['public_key_path']}", "rb").read()
    key = SSlibKey.from_crypto(load_pem_public_key(pem), keyid=signature["key_id"], scheme=scheme)
    envelope = Envelope.from_dict(json.load(open(f"{directory}/manifest.dsse.json")))
    envelope.verify([key], 1)  # raises VerificationError
    statement = json.loads(envelope.payload)
    pb = json_format.ParseDict(statement, statement_pb2.Statement())
    Statement.copy_from_pb(pb).validate()  # raises ValueError
    print("OK", scheme, key.keyid)


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except Exception as e:  # every refusal, with its reason
        print(f"FAIL {type(e).__name__}: {e}")
        sys.exit(1)
