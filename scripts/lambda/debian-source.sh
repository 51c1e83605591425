# Sourced by build-static-openssl.sh and build-static-curl.sh: fetches a Debian source package with apt-get and a
# private source list and private package lists under the caller's work directory (the system's apt configuration
# has no deb-src lines and is left alone).
#
#   debian_source_lists WORK            writes WORK/sources.list and runs `apt-get update` against it
#   debian_source_fetch WORK PKG VER    downloads PKG=VER into WORK/download (returns non-zero if the archive no
#                                       longer serves that version)
#   debian_source_versions WORK PKG     every version of PKG the source lists offer, newest first
#   debian_source_unpack WORK           unpacks the upstream tarball and debian/ into WORK/src
debian_source_apt() {  # [apt-cache] WORK ARGS...: apt-get (or apt-cache) with the private configuration
  local tool=apt-get
  [ "$1" = apt-cache ] && { tool=apt-cache; shift; }
  local work=$1; shift
  "$tool" -q -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o "Dir::State::Lists=$work/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

debian_source_lists() {
  local work=$1 codename
  command -v apt-get >/dev/null || { echo "debian-source: apt-get is missing (a Debian host is needed)" >&2; return 1; }
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  mkdir -p "$work/lists/partial" "$work/download"
  cat > "$work/sources.list" <<LIST
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian-security $codename-security main
deb-src http://deb.debian.org/debian $codename-updates main
LIST
  debian_source_apt "$work" update >&2
}

debian_source_versions() {
  debian_source_apt apt-cache "$1" showsrc "$2" 2>/dev/null | sed -n "/^Package: $2\$/,/^\$/s/^Version: //p" \
    | sort -u | sort -r -V
}

debian_source_fetch() {
  local work=$1 pkg=$2 version=$3
  rm -rf "$work/download"; mkdir -p "$work/download"
  (cd "$work/download" && debian_source_apt "$work" source --download-only "$pkg${version:+=$version}" >&2)
}

debian_source_unpack() {
  local work=$1 orig debian
  orig=$(ls "$work"/download/*.orig.tar.* | grep -v '\.asc$' | head -1)
  debian=$(ls "$work"/download/*.debian.tar.* | head -1)
  rm -rf "$work/src"; mkdir -p "$work/src"
  tar -xf "$orig" -C "$work/src" --strip-components=1
  tar -xf "$debian" -C "$work/src"
}
