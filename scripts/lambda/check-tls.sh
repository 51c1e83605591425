#!/usr/bin/env bash
# Checks the static libcurl + OpenSSL the Lambda zips link (.build/lambda/static, built by build-static-curl.sh):
# real TLS handshakes, with certificate and host-name verification on, against the system's `openssl s_server`
# (an independent peer) serving certificates of test CAs made here, through the CA bundle mechanism the functions
# use on Lambda (SSL_CERT_FILE; libcurl is built --with-ca-fallback). Each case must give the expected outcome:
#   accepted: RSA chain over TLS 1.2 (ECDHE-RSA-AES128-GCM) and TLS 1.3 (X25519), ECDSA chain (P-384 root, P-256
#             leaf) over TLS 1.3 with ChaCha20-Poly1305 on P-256 and over TLS 1.2 (ECDHE-ECDSA-AES256-GCM);
#   rejected: a certificate from a CA outside the bundle, a certificate for another host name, and the test CA with
#             no SSL_CERT_FILE (OpenSSL's default CA paths do not hold it);
# and libcrypto's SHA-256, HMAC-SHA256, MD5 and RAND_bytes (what the Crypto target calls) give known answers.
# Usage: scripts/lambda/check-tls.sh   (exit 0: every case as expected; prints one line per case)
set -euo pipefail
cd "$(dirname "$0")/../.."
STATIC=$PWD/.build/lambda/static
fail() { echo "check-tls: $*" >&2; exit 1; }
for tool in cc openssl python3; do command -v "$tool" >/dev/null || fail "$tool is missing"; done
for lib in libcurl.a libssl.a libcrypto.a libz.a; do
  [ -f "$STATIC/lib/$lib" ] || fail "$STATIC/lib/$lib is missing (run scripts/lambda/build-static-curl.sh)"
done
WORK=$(mktemp -d)
server=
# SIGKILL: a signal mask inherited from the caller (a test runner) may block SIGTERM in s_server.
cleanup() { [ -n "$server" ] && kill -KILL "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

cc -O1 -I"$STATIC/include" scripts/lambda/check-tls.c -o "$WORK/check-tls" -Wl,--gc-sections \
  "$STATIC/lib/libcurl.a" "$STATIC/lib/libssl.a" "$STATIC/lib/libcrypto.a" "$STATIC/lib/libz.a" -lpthread \
  || fail "cannot build the client against $STATIC"

# Test PKI: an RSA root, an ECDSA root (P-384) and a rogue RSA root outside the bundle; leaves for localhost.
cd "$WORK"
quiet() { "$@" >/dev/null 2>&1 || fail "failed: $*"; }
root() {  # NAME KEYALG...
  local name=$1; shift
  quiet openssl req -x509 -new -nodes -newkey "$@" -keyout "$name.key" -out "$name.pem" -days 2 \
    -subj "/CN=Odin test $name" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
}
leaf() {  # NAME ROOT HOST KEYALG...
  local name=$1 ca=$2 host=$3; shift 3
  quiet openssl req -new -nodes -newkey "$@" -keyout "$name.key" -out "$name.csr" -subj "/CN=$host"
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$host" > "$name.ext"
  quiet openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial -days 1 \
    -extfile "$name.ext" -out "$name.pem"
}
root rsa-root rsa:2048
root ec-root ec -pkeyopt ec_paramgen_curve:P-384
root rogue-root rsa:2048
leaf rsa-leaf rsa-root localhost rsa:2048
leaf ec-leaf ec-root localhost ec -pkeyopt ec_paramgen_curve:P-256
leaf rogue-leaf rogue-root localhost rsa:2048
leaf other-leaf rsa-root other.invalid rsa:2048
cat rsa-root.pem ec-root.pem > bundle.pem

failures=0
case_() {  # NAME EXPECT(ok|reject) CA_FILE(or -) LEAF S_SERVER_ARGS...
  local name=$1 expect=$2 cafile=$3 cert=$4; shift 4
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  openssl s_server -quiet -www -accept "127.0.0.1:$port" -cert "$cert.pem" -key "$cert.key" "$@" </dev/null >"$name.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  local out status=0
  if [ "$cafile" = - ]; then
    out=$(env -u SSL_CERT_FILE -u SSL_CERT_DIR ./check-tls "https://localhost:$port/" "localhost:$port:127.0.0.1") || status=$?
  else
    out=$(SSL_CERT_FILE=$PWD/$cafile ./check-tls "https://localhost:$port/" "localhost:$port:127.0.0.1") || status=$?
  fi
  kill -KILL "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=
  local verdict=unexpected
  if [ "$expect" = ok ] && [ $status = 0 ] && [[ "$out" == "curl=0 http=200 "* ]]; then verdict=ok
  elif [ "$expect" = reject ] && [[ "$out" == curl=60\ * ]]; then verdict=ok; fi
  printf '%-58s expected %-6s got %s\n' "$name" "$expect" "$out"
  [ $verdict = ok ] || { failures=$((failures + 1)); echo "  ^ UNEXPECTED (s_server log: $(tr '\n' ' ' < "$name.log" | cut -c1-300))"; }
}
case_ "RSA chain, TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256" ok bundle.pem rsa-leaf \
  -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
case_ "RSA chain, TLS 1.3 (X25519)" ok bundle.pem rsa-leaf -tls1_3 -groups X25519
case_ "ECDSA chain, TLS 1.3 ChaCha20-Poly1305 on P-256" ok bundle.pem ec-leaf \
  -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -groups P-256
case_ "ECDSA chain, TLS 1.2 ECDHE-ECDSA-AES256-GCM-SHA384" ok bundle.pem ec-leaf \
  -tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384
case_ "certificate from a CA outside the bundle" reject bundle.pem rogue-leaf
case_ "certificate for another host name" reject bundle.pem other-leaf
case_ "test CA, no SSL_CERT_FILE (OpenSSL's default paths)" reject - rsa-leaf
crypto=$(./check-tls --crypto) || true
printf '%-58s expected %-6s got %s\n' "libcrypto: SHA-256, HMAC-SHA256, MD5, RAND_bytes" ok "$crypto"
[ "$crypto" = "crypto ok" ] || failures=$((failures + 1))
[ $failures = 0 ] || fail "$failures case(s) not as expected"
echo "check-tls: every case as expected"
