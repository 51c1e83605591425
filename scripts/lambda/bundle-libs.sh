#!/usr/bin/env bash
# Copies every shared library BINARY needs (ldd's whole closure) that is not on Lambda's allowlist into STAGE/lib/
# (provided.al2023 puts /var/task/lib on LD_LIBRARY_PATH). Allowlisted: glibc's libraries, the loader, the vDSO,
# libstdc++ and libgcc_s. Fails when ldd reports a library as not found.
# Usage: bundle-libs.sh BINARY STAGE   Prints the bundled file names, one per line.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BINARY STAGE" >&2; exit 2; }
binary=$1 stage=$2
ALLOW='^(linux-vdso\.so\.1|linux-gate\.so\.1|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1|libresolv\.so\.2|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$'
listing=$(ldd "$binary" 2>&1) || { echo "bundle-libs: ldd $binary failed: $listing" >&2; exit 1; }
while read -r line; do
  [ -n "$line" ] || continue
  [[ "$line" == *"statically linked"* ]] && continue
  if [[ "$line" == *"not found"* ]]; then echo "bundle-libs: $binary: $line" >&2; exit 1; fi
  lib=$(awk '{print $1}' <<<"$line")
  base=$(basename "$lib")
  [[ "$base" =~ $ALLOW ]] && continue
  path=$(awk '$2 == "=>" {print $3}' <<<"$line")
  if [ -z "$path" ] || [ ! -f "$path" ]; then echo "bundle-libs: cannot resolve $lib: $line" >&2; exit 1; fi
  mkdir -p "$stage/lib"
  cp -L "$path" "$stage/lib/$base"
  chmod 0644 "$stage/lib/$base"
  echo "$base"
done < <(sed 's/^[[:space:]]*//' <<<"$listing")
