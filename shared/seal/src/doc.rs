//! `VERIFY.md`: offline verification instructions shipped inside every bundle.

/// The stand-alone verification script embedded in `VERIFY.md` (POSIX sh, GNU coreutils,
/// python3 standard library, OpenSSL >= 3.0). Tests run it against real bundles.
pub(crate) const VERIFY_SCRIPT: &str = r#"#!/bin/sh
# usage: sh verify-bundle.sh BUNDLE.tar.gz [TRUSTED_KEY_ID]
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BUNDLE.tar.gz [TRUSTED_KEY_ID]" >&2; exit 2; }
bundle=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/b"
tar -xzf "$bundle" -C "$work/b"
cd "$work/b"

# 1. every file matches checksums.sha256
sha256sum -c --strict --quiet checksums.sha256

# 2. manifest, statement, files and Merkle root agree; write the PAE and signature
key_id=$(python3 - "$work" <<'PY'
import base64, hashlib, json, os, sys

def need(ok, msg):
    if not ok:
        sys.exit("FAIL: " + msg)

work = sys.argv[1]
man_bytes = open("manifest.json", "rb").read()
man = json.loads(man_bytes)
env = json.load(open("manifest.dsse.json", "rb"))
need(man["schema"] == "exportcenter.manifest/v1", "unknown manifest schema")
need(env["payloadType"] == "application/vnd.in-toto+json", "unexpected payloadType")

pem = open(man["signature"]["public_key_path"], "rb").read().decode()
der = base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----")))
key_id = hashlib.sha256(der).hexdigest()
need(key_id == man["signature"]["key_id"], "public key does not match manifest key_id")
alg = man["signature"]["algorithm"]
need(alg in ("ed25519", "ecdsa-p256-sha256"), "unknown signature algorithm " + alg)
open(os.path.join(work, "alg"), "w").write(alg)

payload = base64.b64decode(env["payload"])
ptype = env["payloadType"].encode()
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
sigs = [s for s in env["signatures"] if s.get("keyid") == key_id]
need(sigs, "no signature by key " + key_id)
open(os.path.join(work, "pae.bin"), "wb").write(pae)
open(os.path.join(work, "sig.bin"), "wb").write(base64.b64decode(sigs[0]["sig"]))

st = json.loads(payload)
need(st["_type"] == "https://in-toto.io/Statement/v1", "not an in-toto Statement v1")
need(st["predicateType"] == "https://exportcenter.dev/sealed-export/v1", "unexpected predicateType")
pred = st["predicate"]
need(hashlib.sha256(man_bytes).hexdigest() == pred["manifest_sha256"], "manifest.json is not the signed one")
for k in ("export_id", "tenant_id", "created_at", "merkle_root", "inputs"):
    need(man[k] == pred[k], "manifest %s differs from the statement" % k)
files = [(f["path"], f["sha256"]) for f in man["files"]]
need(files == sorted(files), "manifest files not sorted by path")
need([(s["name"], s["digest"]["sha256"]) for s in st["subject"]] == files, "statement subjects differ from manifest files")

for f in man["files"]:
    data = open(f["path"], "rb").read()
    need(len(data) == f["size"] and hashlib.sha256(data).hexdigest() == f["sha256"], "content mismatch: " + f["path"])
on_disk = {os.path.relpath(os.path.join(d, n), ".") for d, _, ns in os.walk(".") for n in ns}
extra = on_disk - {p for p, _ in files} - {"manifest.json", "manifest.dsse.json", "checksums.sha256", "manifest.dsse.tsr"}
need(not extra, "unlisted files: " + ", ".join(sorted(extra)))

def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()

root = mth([p.encode() + b"\x00" + h.encode() for p, h in files]).hex()
need(root == man["merkle_root"], "merkle root mismatch")
print(key_id)
PY
)

# 3. the signature over the DSSE PAE bytes: ed25519, or ECDSA P-256 over SHA-256 (DER)
if [ "$(cat "$work/alg")" = "ecdsa-p256-sha256" ]; then
    openssl dgst -sha256 -verify keys/signing.pub.pem -signature "$work/sig.bin" \
        "$work/pae.bin" >/dev/null || { echo "FAIL: bad signature" >&2; exit 1; }
else
    openssl pkeyutl -verify -pubin -inkey keys/signing.pub.pem -rawin \
        -in "$work/pae.bin" -sigfile "$work/sig.bin" >/dev/null \
        || { echo "FAIL: bad signature" >&2; exit 1; }
fi

# 4. optionally pin the key
if [ $# -ge 2 ] && [ "$2" != "$key_id" ]; then
    echo "FAIL: signed by key $key_id, not by the trusted key $2" >&2; exit 1
fi
echo "OK: bundle verified, signing key id $key_id"
"#;

/// Renders `VERIFY.md` for one bundle.
pub(crate) fn render(export_id: &str, key_id: &str, algorithm: &str) -> String {
    let mut s = String::new();
    s.push_str("# Verifying this sealed export offline\n\n");
    s.push_str(&format!(
        "Export `{export_id}`, signed with {algorithm} key id `{key_id}`\n\
         (the key id is the lowercase hex sha256 of the DER SubjectPublicKeyInfo of\n\
         `keys/signing.pub.pem`). A bundle proves nothing on its own: also check that this key\n\
         id is the one your ExportCenter operator publishes.\n\n"
    ));
    s.push_str(
        "## What is in the bundle\n\n\
         - `manifest.json`: every listed file (path, sha256, size, media type), the Merkle\n  \
           root, the export id, tenant, creation time, and the digests of the gathered inputs.\n\
         - `manifest.dsse.json`: a DSSE envelope (payloadType `application/vnd.in-toto+json`)\n  \
           of an in-toto Statement v1. Its subjects are the listed files; its predicate\n  \
           (`https://exportcenter.dev/sealed-export/v1`) repeats export id, tenant, creation\n  \
           time, Merkle root and inputs, and holds `manifest_sha256`, the sha256 of the exact\n  \
           bytes of `manifest.json`.\n\
         - `checksums.sha256`: `sha256sum` lines for every file except itself.\n\
         - `keys/signing.pub.pem`: the signing public key (SPKI PEM).\n\
         - `VERIFY.md` (this file), the report, and the evidence files.\n\n\
         Every file except `manifest.json`, `manifest.dsse.json` and `checksums.sha256` is\n\
         listed in the manifest and in the statement.\n\n",
    );
    s.push_str(
        "## With exportctl\n\n\
         ```sh\n\
         exportctl verify bundle.tar.gz\n\
         ```\n\n\
         It checks everything below and exits non-zero with a reason on any mismatch.\n\n",
    );
    s.push_str(
        "## By hand\n\n\
         Save the script below as `verify-bundle.sh` and run\n\
         `sh verify-bundle.sh bundle.tar.gz [TRUSTED_KEY_ID]`. It needs GNU coreutils\n\
         (`sha256sum`), `tar`, `python3` (standard library only) and OpenSSL 3.0 or newer\n\
         (`pkeyutl -rawin` for ed25519). On macOS use `shasum -a 256 -c` for step 1.\n\n\
         The checks are:\n\n\
         1. `sha256sum -c checksums.sha256` in the extracted directory.\n\
         2. The public key's id equals `signature.key_id` of the manifest (and the id you\n   \
            trust); the statement's subjects equal the manifest's files; the predicate equals\n   \
            the manifest's fields and `manifest_sha256` is the sha256 of `manifest.json`;\n   \
            every listed file has the listed size and sha256; no unlisted file is present;\n   \
            the Merkle root recomputes.\n\
         3. The signature (`signature.algorithm`: `ed25519`, or `ecdsa-p256-sha256`, DER, as\n   \
            AWS KMS makes it) verifies over the DSSE pre-authentication encoding\n   \
            `PAE = \"DSSEv1\" SP LEN(payloadType) SP payloadType SP LEN(payload) SP payload`,\n   \
            where `payload` is the base64-decoded `payload` field, LEN is the decimal byte\n   \
            length and SP a single space:\n\n   \
            ```sh\n   \
            openssl pkeyutl -verify -pubin -inkey keys/signing.pub.pem -rawin -in pae.bin -sigfile sig.bin   # ed25519\n   \
            openssl dgst -sha256 -verify keys/signing.pub.pem -signature sig.bin pae.bin                # ecdsa-p256-sha256\n   \
            ```\n\n",
    );
    s.push_str(
        "### Trusted time\n\n\
         When the bundle has `manifest.dsse.tsr`, it is an RFC 3161 timestamp (a\n\
         `TimeStampResp`) whose message imprint is the SHA-256 of the DSSE signature bytes\n\
         (`sig.bin` above: the base64-decoded `sig` of `manifest.dsse.json`). Check it, and the\n\
         TSA, with the TSA's CA certificate (`tsa-ca.pem`, from your operator):\n\n\
         ```sh\n\
         openssl ts -verify -data sig.bin -in manifest.dsse.tsr -CAfile tsa-ca.pem\n\
         exportctl verify bundle.tar.gz --trusted-keys keys.json --tsa-ca tsa-ca.pem\n\
         ```\n\n\
         The timestamp's time is then when the bundle was sealed: the signing key must have\n\
         been valid then.\n\n",
    );
    s.push_str(
        "### Merkle root\n\n\
         An RFC 6962 Merkle Tree Hash over the listed files sorted by path (byte order of the\n\
         UTF-8 path):\n\n\
         ```text\n\
         leaf data d   = path || 0x00 || lowercase hex sha256 of the file (ASCII)\n\
         leaf hash     = SHA-256(0x00 || d)\n\
         node hash     = SHA-256(0x01 || left || right)\n\
         no files      : SHA-256(\"\")\n\
         n > 1 leaves  : split at k = largest power of two < n; node(MTH(first k), MTH(rest))\n\
         ```\n\n",
    );
    s.push_str("### Script\n\n```sh\n");
    s.push_str(VERIFY_SCRIPT);
    s.push_str("```\n");
    s
}
