#!/bin/sh
# Writes the TLS fixtures of the server's tests: a test CA (ca.pem), a
# certificate it signed for localhost and 127.0.0.1 (cert.pem, its key
# key.pem), valid for 100 years, and a key of no certificate
# (other-key.pem). Test data only: the keys are public. Run from the
# repository's root.
set -eu
out=crates/sclerad-server/tests/fixtures/tls
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -keyout "$tmp/ca-key.pem" -out "$out/ca.pem" -days 36500 \
    -subj "/CN=sclerad test CA" 2>/dev/null
openssl req $ec -keyout "$out/key.pem" -out "$tmp/cert.csr" -subj "/CN=localhost" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$tmp/ext"
openssl x509 -req -in "$tmp/cert.csr" -CA "$out/ca.pem" -CAkey "$tmp/ca-key.pem" \
    -CAcreateserial -out "$out/cert.pem" -days 36500 -extfile "$tmp/ext" 2>/dev/null
rm -f "$out/ca.srl"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$out/other-key.pem"
