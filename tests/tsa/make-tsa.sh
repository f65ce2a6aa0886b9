#!/bin/sh
# A time-stamping authority for the tests, made with OpenSSL: a CA and a TSA certificate
# (extendedKeyUsage critical timeStamping) issued by it, and the `openssl ts` config.
#   make-tsa.sh DIR [ec|rsa]
# Then: openssl ts -reply -config DIR/tsa.cnf -queryfile Q -inkey DIR/tsa.key -signer DIR/tsa.pem -out R
set -eu
dir=$1; kind=${2:-ec}
mkdir -p "$dir"; cd "$dir"
key() {
  if [ "$kind" = rsa ]; then openssl genrsa -out "$1" 2048 2>/dev/null
  else openssl ecparam -name prime256v1 -genkey -noout -out "$1"; fi
}
key ca.key
openssl req -x509 -new -key ca.key -subj "/CN=ExportCenter Test TSA Root" -days 3650 -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem
key tsa.key
openssl req -new -key tsa.key -subj "/CN=ExportCenter Test TSA" -out tsa.csr
printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n' > ext.cnf
openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
  -extfile ext.cnf -out tsa.pem 2>/dev/null
echo 01 > serial
cat > tsa.cnf <<CNF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = $dir/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
