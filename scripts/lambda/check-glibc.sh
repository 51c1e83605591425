#!/usr/bin/env bash
# Fails when an ELF file needs a symbol version newer than Lambda's provided.al2023 offers:
# GLIBC_ > 2.34, GLIBCXX_ > 3.4.29, CXXABI_ > 1.3.13 (AL2023 ships glibc 2.34 and gcc 11's libstdc++; the
# libstdc++ limits are an assumption from the gcc 11 ABI, see ../../../shared/docs/lambda-runtime.md section 4).
# Usage: check-glibc.sh FILE...   Limits can be overridden with ODIN_MAX_GLIBC / ODIN_MAX_GLIBCXX / ODIN_MAX_CXXABI.
# Prints one line per offending version with the symbols that need it; exit 1 if any, 2 on bad usage.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 FILE..." >&2; exit 2; }
declare -A limit=([GLIBC]=${ODIN_MAX_GLIBC:-2.34} [GLIBCXX]=${ODIN_MAX_GLIBCXX:-3.4.29} [CXXABI]=${ODIN_MAX_CXXABI:-1.3.13})
newer() { # $1 version, $2 limit: true when $1 > $2
  [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1)" = "$1" ]
}
status=0
for file in "$@"; do
  [ -f "$file" ] || { echo "$file: no such file" >&2; exit 2; }
  # Version requirements (verneed), e.g. "    0x069691b5 0x00 07 GLIBC_2.35"
  required=$(objdump -p "$file" | awk '/^Version References:/{on=1; next} on && /^$/{on=0} on && NF==4 {print $4}' | sort -u)
  for tag in $required; do
    family=${tag%%_*}; version=${tag#*_}
    [ -n "${limit[$family]+x}" ] || continue
    if newer "$version" "${limit[$family]}"; then
      symbols=$(objdump -T "$file" | awk -v t="($tag)" '$0 ~ t {print $NF}' | sort -u | tr '\n' ' ')
      echo "$file: needs $tag (Lambda provided.al2023 has ${family}_${limit[$family]} at most): ${symbols:-<no symbol named>}"
      status=1
    fi
  done
done
exit $status
