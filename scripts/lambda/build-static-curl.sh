#!/usr/bin/env bash
# Builds a minimal static libcurl (HTTP and HTTPS only, OpenSSL, nothing else) from Debian's own source package,
# for the Lambda zips: Debian's libcurl.so.4 drags 29 shared libraries (16.7 MB) that would have to be bundled.
# Installs into .build/lambda/static/{include,lib} together with Debian's static libssl.a, libcrypto.a and libz.a,
# which scripts/package.sh puts first on the linker's search path. Does nothing when libcurl.a is already there.
#
# The source comes through apt-get with a private source list and private package lists under .build/ (the system's
# apt configuration has no deb-src lines and is left alone). Debian's security patches are applied; patches that
# only touch the build system (configure.ac, Makefile.am, m4, the GnuTLS/NSS flavours) are skipped, since the
# release tarball's generated configure is used as is.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/.build/lambda/static
[ -f "$OUT/lib/libcurl.a" ] && exit 0
WORK=$ROOT/.build/lambda/curl-src
ARCH_LIB=/usr/lib/$(gcc -print-multiarch)
for lib in libssl.a libcrypto.a libz.a; do
  [ -f "$ARCH_LIB/$lib" ] || { echo "build-static-curl: $ARCH_LIB/$lib missing (apt-get install libssl-dev zlib1g-dev)" >&2; exit 1; }
done
command -v make >/dev/null || { echo "build-static-curl: make is missing (apt-get install make)" >&2; exit 1; }

rm -rf "$WORK"; mkdir -p "$WORK/lists/partial" "$WORK/download"
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
cat > "$WORK/sources.list" <<LIST
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian-security $codename-security main
deb-src http://deb.debian.org/debian $codename-updates main
LIST
APT=(apt-get -q -o "Dir::Etc::SourceList=$WORK/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$WORK/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
# Match the headers the build compiles against (libcurl4-openssl-dev): same upstream version and Debian revision.
want=$(dpkg-query -W -f='${Version}' libcurl4-openssl-dev 2>/dev/null || true)
"${APT[@]}" update >&2
(cd "$WORK/download" && "${APT[@]}" source --download-only "curl${want:+=$want}" >&2)
orig=$(ls "$WORK"/download/curl_*.orig.tar.* | head -1)
debian=$(ls "$WORK"/download/curl_*.debian.tar.* | head -1)
mkdir -p "$WORK/src"
tar -xf "$orig" -C "$WORK/src" --strip-components=1
tar -xf "$debian" -C "$WORK/src"
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
  --with-openssl --without-ca-bundle --without-ca-path --with-ca-fallback \
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
cp "$ARCH_LIB/libssl.a" "$ARCH_LIB/libcrypto.a" "$ARCH_LIB/libz.a" "$OUT/lib/"
echo "build-static-curl: $(ls "$OUT/lib")" >&2
