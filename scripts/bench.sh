#!/usr/bin/env bash
# Runs every benchmark in scripts/bench/*.sh (each prints one Markdown section to stdout, measuring ours and its
# peers in the same run) and writes BENCHMARKS.md. Benchmarks never assert; they report.
set -euo pipefail
cd "$(dirname "$0")/.."
out=BENCHMARKS.md.new
{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m), $(swift --version 2>/dev/null | head -1)."
  echo "Every ratio compares figures measured in this same run. Regenerate with \`make bench\`."
  echo
} > "$out"
for b in scripts/bench/*.sh; do
  [ -e "$b" ] || continue
  echo "== $b" >&2
  if ! bash "$b" >> "$out"; then
    echo "(benchmark $b failed in this run; see the log above)" >> "$out"
  fi
  echo >> "$out"
done
mv "$out" BENCHMARKS.md
echo "wrote BENCHMARKS.md" >&2
