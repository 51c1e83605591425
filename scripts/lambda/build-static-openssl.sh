#!/usr/bin/env bash
# Builds a reduced static OpenSSL (libssl.a, libcrypto.a and their headers) from Debian's own source package, with
# all of Debian's patches, for the Lambda zips; called by build-static-curl.sh, which builds libcurl against it.
# Installs into .build/lambda/static/{include,lib}; scripts/package.sh compiles the Swift targets that import
# OpenSSL or libcurl against these headers (-Xcc -I) and links these libraries. Does nothing when the library of
# this recipe is already there (openssl.stamp holds a hash of this script).
#
# Why: Debian's libcrypto.a has every algorithm, and its default provider's dispatch tables reference all of them,
# so a static link keeps ~750 of its ~900 members (3.7 MB, 1.6 MB of each zip). What the functions need is TLS 1.2
# and 1.3 to AWS endpoints (ECDHE over X25519 and the NIST prime curves, RSA and ECDSA certificates verified
# against the CA bundle, AES-GCM/CBC and ChaCha20-Poly1305, SHA-1/SHA-2 for signatures) and, in the Crypto target,
# SHA-256, HMAC-SHA256 (the low-level SHA256_* functions), MD5 and the DRBG. Everything else is configured out,
# and every function and object gets its own section so --gc-sections drops the rest.
#
# Kept as Debian has it: OPENSSLDIR=/usr/lib/ssl (OpenSSL's default CA file and directory; on Lambda the stack
# sets SSL_CERT_FILE=/etc/pki/tls/certs/ca-bundle.crt, which OpenSSL reads the same way), the TLS security level 2
# default, Debian's patches. Left out: protocols below TLS 1.2, DTLS, SRP, PSK, engines/DSOs/loadable modules, the
# legacy provider, compression, CMS/TS/CMP/OCSP/CT/RFC 3779, and the ciphers and digests no TLS 1.2/1.3 suite to
# AWS uses (IDEA, Camellia, SEED, Blowfish, CAST, RC2/4/5, DES, ARIA, SM2/3/4, GOST, MD4, MDC2, RIPEMD-160,
# Whirlpool, BLAKE2, SipHash, scrypt, SIV, OCB, CMAC), DSA and finite-field DH, binary-field curves, and the
# automatic loading of openssl.cnf (the functions never read it: Crypto initialises with NO_LOAD_CONFIG).
#
# Version: the installed libssl-dev's Debian version when the archive still serves its source, else the newest the
# archive serves (security updates replace old versions); ODIN_OPENSSL_VERSION pins one. Nothing compiled for the
# Lambda zips uses the system's OpenSSL headers, so the version only has to be consistent within this directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/.build/lambda/static
WORK=$ROOT/.build/lambda/openssl-src
. scripts/lambda/debian-source.sh

OPTIONS=(no-shared no-module no-legacy no-engine no-dso no-dynamic-engine no-static-engine no-afalgeng
  no-capieng no-padlockeng no-loadereng no-devcryptoeng no-autoload-config no-comp no-zlib no-async
  no-ssl3 no-ssl3-method no-tls1 no-tls1-method no-tls1_1 no-tls1_1-method no-dtls no-sctp no-srtp no-srp no-psk
  no-nextprotoneg no-cms no-ts no-cmp no-ocsp no-ct no-rfc3779 no-ui-console no-tests no-unit-test no-makedepend
  no-idea no-camellia no-seed no-bf no-cast no-rc2 no-rc4 no-rc5 no-des no-aria no-sm2 no-sm3 no-sm4 no-gost
  no-md2 no-md4 no-mdc2 no-rmd160 no-whirlpool no-blake2 no-siphash no-scrypt no-siv no-ocb no-cmac
  no-dsa no-dh no-ec2m no-rdrand no-weak-ssl-ciphers)
# Debian's compiler flags (dpkg-buildflags: hardening; its target adds -DOPENSSL_TLS_SECURITY_LEVEL=2) plus
# per-function/-object sections. (The build compiles relative paths, so no build directory reaches the library.)
CFLAGS_LAMBDA="-O2 -fstack-protector-strong -Wformat -Werror=format-security -D_FORTIFY_SOURCE=2"
CFLAGS_LAMBDA+=" -ffunction-sections -fdata-sections"
# The stamp names the recipe: a change to this script (or a pinned version) rebuilds.
stamp="openssl ${ODIN_OPENSSL_VERSION:-auto} $(cat scripts/lambda/build-static-openssl.sh scripts/lambda/debian-source.sh | sha256sum | cut -c1-16)"
if [ -f "$OUT/openssl.stamp" ] && [ "$(cat "$OUT/openssl.stamp")" = "$stamp" ] \
   && [ -f "$OUT/lib/libcrypto.a" ] && [ -f "$OUT/lib/libssl.a" ]; then
  exit 0
fi
for tool in perl make gcc ar tar patch; do
  command -v "$tool" >/dev/null || { echo "build-static-openssl: $tool is missing (apt-get install $([ "$tool" = gcc ] && echo build-essential || echo "$tool"))" >&2; exit 1; }
done

# A new OpenSSL invalidates everything built against it (libcurl): start the static directory afresh.
rm -rf "$OUT" "$WORK"
debian_source_lists "$WORK"
if [ -n "${ODIN_OPENSSL_VERSION:-}" ]; then
  candidates=("$ODIN_OPENSSL_VERSION")
else
  installed=$(dpkg-query -W -f='${Version}' libssl-dev 2>/dev/null || true)
  mapfile -t candidates < <({ [ -n "$installed" ] && echo "$installed"; debian_source_versions "$WORK" openssl; } | awk '!seen[$0]++')
fi
version=
for candidate in "${candidates[@]}"; do
  if debian_source_fetch "$WORK" openssl "$candidate"; then version=$candidate; break; fi
  echo "build-static-openssl: the archive does not serve openssl $candidate; trying the next version" >&2
done
[ -n "$version" ] || { echo "build-static-openssl: no openssl source package could be downloaded (tried: ${candidates[*]})" >&2; exit 1; }
debian_source_unpack "$WORK"
cd "$WORK/src"
applied=0
while read -r patch; do
  case "$patch" in ''|\#*) continue ;; esac
  patch -p1 --quiet --forward < "debian/patches/$patch" >&2 || { echo "build-static-openssl: $patch does not apply" >&2; exit 1; }
  applied=$((applied + 1))
done < debian/patches/series
echo "build-static-openssl: openssl $version, $applied Debian patches applied" >&2

# Reproducible: the build date OpenSSL embeds, and the installed headers' times, are the Debian changelog's.
SOURCE_DATE_EPOCH=$(date -d "$(sed -n 's/^ -- .*>  //p' debian/changelog | head -1)" +%s)
export SOURCE_DATE_EPOCH
arch=$(dpkg --print-architecture)
# Debian's prefix and directories (what the library records as its OPENSSLDIR, ENGINESDIR and MODULESDIR, which
# no longer depend on where it is built), installed into a staging directory and copied into $OUT.
multiarch=$(gcc -print-multiarch)
CFLAGS="$CFLAGS_LAMBDA" ./Configure "${OPTIONS[@]}" --prefix=/usr --openssldir=/usr/lib/ssl --libdir="lib/$multiarch" "debian-$arch" >&2
make -j"$(nproc)" build_libs >&2
make DESTDIR="$WORK/install" install_dev >&2
mkdir -p "$OUT/lib"
find "$WORK/install/usr/include" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
cp -R --preserve=timestamps "$WORK/install/usr/include" "$OUT/"
cp "$WORK/install/usr/lib/$multiarch/libssl.a" "$WORK/install/usr/lib/$multiarch/libcrypto.a" "$OUT/lib/"
echo "$stamp" > "$OUT/openssl.stamp"
echo "openssl $version" > "$OUT/openssl.version"
echo "build-static-openssl: $(cd "$OUT/lib" && ls -s libssl.a libcrypto.a | tr '\n' ' ')" >&2
