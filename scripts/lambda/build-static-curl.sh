#!/usr/bin/env bash
# Builds a minimal static libcurl (HTTP and HTTPS only, OpenSSL, nothing else) from Debian's own source package,
# for the Lambda zips: Debian's libcurl.so.4 drags 29 shared libraries (16.7 MB) that would have to be bundled.
# First builds the reduced static OpenSSL it links (build-static-openssl.sh), then installs libcurl into
# .build/lambda/static/{include,lib}, built against that OpenSSL's headers, together with Debian's static libz.a;
# scripts/package.sh puts that directory first on the header and linker search paths. Does nothing when libcurl.a
# is already there, built by this script against the OpenSSL that is there now (curl.stamp).
#
# The source comes through apt-get with a private source list and private package lists under .build/
# (scripts/lambda/debian-source.sh). Debian's security patches are applied; patches that only touch the build
# system (configure.ac, Makefile.am, m4, the GnuTLS/NSS flavours) are skipped, since the release tarball's
# generated configure is used as is.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/.build/lambda/static
scripts/lambda/build-static-openssl.sh
stamp="$(cat "$OUT/openssl.stamp") curl $(sha256sum < scripts/lambda/build-static-curl.sh | cut -c1-16)"
[ -f "$OUT/lib/libcurl.a" ] && [ "$(cat "$OUT/curl.stamp" 2>/dev/null)" = "$stamp" ] && exit 0
WORK=$ROOT/.build/lambda/curl-src
. scripts/lambda/debian-source.sh
ARCH_LIB=/usr/lib/$(gcc -print-multiarch)
[ -f "$ARCH_LIB/libz.a" ] || { echo "build-static-curl: $ARCH_LIB/libz.a missing (apt-get install zlib1g-dev)" >&2; exit 1; }
command -v make >/dev/null || { echo "build-static-curl: make is missing (apt-get install make)" >&2; exit 1; }

rm -rf "$WORK"
debian_source_lists "$WORK"
# Same upstream version and Debian revision as the system's headers (libcurl4-openssl-dev), which the Swift
# targets' other builds compile against.
want=$(dpkg-query -W -f='${Version}' libcurl4-openssl-dev 2>/dev/null || true)
debian_source_fetch "$WORK" curl "$want" || { echo "build-static-curl: cannot download curl ${want:-source}" >&2; exit 1; }
debian_source_unpack "$WORK"
cd "$WORK/src"
applied=0; skipped=()
while read -r patch; do
  case "$patch" in ''|\#*) continue ;; esac
  if grep -qE '^\+\+\+ [^ ]*(configure\.ac|Makefile\.am|\.m4|curl-config\.in)' "debian/patches/$patch" \
     || [[ "$patch" == *gnutls* || "$patch" == *nss* ]]; then
    skipped+=("$patch"); continue
  fi
  patch -p1 --quiet --forward < "debian/patches/$patch" >&2 || { echo "build-static-curl: $patch does not apply" >&2; exit 1; }
  applied=$((applied + 1))
done < debian/patches/series
echo "build-static-curl: applied $applied Debian patches; skipped build-system/flavour patches: ${skipped[*]}" >&2
# The patches touched no autotools input, but patch(1) gives files new mtimes; keep make from re-running automake.
touch aclocal.m4 configure Makefile.in */Makefile.in */*/Makefile.in 2>/dev/null || true

./configure --prefix="$OUT" --disable-shared --enable-static --with-pic \
  --with-openssl="$OUT" --without-ca-bundle --without-ca-path --with-ca-fallback \
  --without-zlib --without-brotli --without-zstd --without-libpsl --without-libidn2 --without-nghttp2 \
  --without-ngtcp2 --without-nghttp3 --without-quiche --without-librtmp --without-libssh2 --without-libssh \
  --without-libgsasl --without-gssapi \
  --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3 \
  --disable-imap --disable-smtp --disable-gopher --disable-mqtt --disable-ftp --disable-file --disable-smb \
  --disable-ntlm --disable-ntlm-wb --disable-alt-svc --disable-hsts \
  --disable-manual --disable-netrc --disable-dateparse --disable-progress-meter >&2
make -j"$(nproc)" -C lib >&2
make -C lib install >&2
make -C include install >&2
# The headers' times are the Debian changelog's, as OpenSSL's: a rebuild of the same sources changes no input of
# the Swift targets that import them.
touch -h -d "$(sed -n 's/^ -- .*>  //p' debian/changelog | head -1)" "$OUT/include/curl" "$OUT"/include/curl/*
cp "$ARCH_LIB/libz.a" "$OUT/lib/"
cd "$ROOT"
# Before anything links them: real handshakes with verification on, and rejections (see check-tls.sh).
scripts/lambda/check-tls.sh >&2 || { echo "build-static-curl: the static libcurl/OpenSSL failed the TLS check" >&2; exit 1; }
echo "$stamp" > "$OUT/curl.stamp"
echo "build-static-curl: $(ls "$OUT/lib")" >&2
