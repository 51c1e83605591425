#!/usr/bin/env bash
# Benchmark: Lambda packaging. Cold `make package` (no .build/lambda: static libcurl from source + release builds of
# every function), a warm rerun (relink + zip only), zip sizes against Info-ZIP `zip -9 -X` on the same staged files,
# and whether two runs give byte-identical zips. Prints one Markdown section to stdout; logs go to stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v zip >/dev/null || { echo "## Lambda packaging"; echo; echo "Not measured: Info-ZIP \`zip\` (the peer) is not installed."; exit 0; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

rm -rf .build/lambda   # packaging-only scratch path; nothing else uses it
t0=$(now); scripts/lambda/build-static-curl.sh >&2; t1=$(now)
scripts/package.sh > .build/bench-package-cold.txt; t2=$(now)
scripts/package.sh > .build/bench-package-warm.txt; t3=$(now)

echo "## Lambda packaging (\`make package\`)"
echo
echo "| function | bootstrap (stripped) | our zip | Info-ZIP \`zip -9 -X\` | ours / Info-ZIP | ≤ 5 MB | same bytes on rerun |"
echo "|---|---:|---:|---:|---:|---|---|"
while read -r name boot zipbytes sha rest; do
  [ "$name" = function ] && continue
  stage=.build/lambda/stage/$name
  peer=.build/lambda/bench-$name.zip; rm -f "$peer"
  (cd "$stage" && zip -q -9 -X -r "$OLDPWD/$peer" .)
  peer_bytes=$(stat -c %s "$peer")
  warm_sha=$(awk -v n="$name" '$1==n {print $4}' .build/bench-package-warm.txt)
  same=$([ "$warm_sha" = "$sha" ] && echo yes || echo "**no**")
  fits=$([ "$zipbytes" -le 5000000 ] && echo yes || echo "**no**")
  ratio=$(awk -v a="$zipbytes" -v b="$peer_bytes" 'BEGIN{printf "%.3f", a/b}')
  printf '| %s | %s B | %s B | %s B | %s | %s | %s |\n' "$name" "$boot" "$zipbytes" "$peer_bytes" "$ratio" "$fits" "$same"
done < .build/bench-package-cold.txt
echo
echo "Cold: static libcurl from Debian's source package $(secs "$t0" "$t1") s, then every function's release build"
echo "$(secs "$t1" "$t2") s (total $(secs "$t0" "$t2") s); warm rerun (relink, strip, check, zip) $(secs "$t2" "$t3") s."
echo "Method: one run each on $(nproc) shared cores, wall clock; \`.build/lambda\` removed first; the peer zips the same"
echo "staged files. Init time of each bootstrap under a Runtime API emulator is not measured here (the functions' mains"
echo "are placeholders that exit at once)."
