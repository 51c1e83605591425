#!/usr/bin/env bash
# Benchmark: Lambda packaging. Cold `make package` (no .build/lambda: static OpenSSL and libcurl from source + release builds of
# every function), a warm rerun (relink + zip only), zip sizes against Info-ZIP `zip -9 -X` on the same staged files,
# whether two runs give byte-identical zips, and where the bytes go (scripts/lambda/size-attribution.py over the
# linker maps package.sh writes). Prints one Markdown section to stdout; logs go to stderr.
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
echo "| function | bootstrap (stripped) | our zip | Info-ZIP \`zip -9 -X\` | ours / Info-ZIP | ≤ 5 MB (5,000,000 B) | same bytes on rerun |"
echo "|---|---:|---:|---:|---:|---|---|"
while read -r name boot zipbytes sha rest; do
  [ "$name" = function ] && continue
  stage=.build/lambda/stage/$name
  peer=.build/lambda/bench-$name.zip; rm -f "$peer"
  (cd "$stage" && zip -q -9 -X -r "$OLDPWD/$peer" .)
  peer_bytes=$(stat -c %s "$peer")
  warm_sha=$(awk -v n="$name" '$1==n {print $4}' .build/bench-package-warm.txt)
  same=$([ "$warm_sha" = "$sha" ] && echo yes || echo "**no**")
  fits=$([ "$zipbytes" -le 5000000 ] && echo yes || echo "**no**: $((zipbytes - 5000000)) B over")
  ratio=$(awk -v a="$zipbytes" -v b="$peer_bytes" 'BEGIN{printf "%.3f", a/b}')
  printf '| %s | %s B | %s B | %s B | %s | %s | %s |\n' "$name" "$boot" "$zipbytes" "$peer_bytes" "$ratio" "$fits" "$same"
done < .build/bench-package-cold.txt
echo
echo "Cold: static $(cat .build/lambda/static/openssl.version) (reduced) and libcurl from Debian's source packages, with"
echo "their TLS check (scripts/lambda/check-tls.sh), $(secs "$t0" "$t1") s, then every function's release build"
echo "$(secs "$t1" "$t2") s (total $(secs "$t0" "$t2") s); warm rerun (relink, strip, check, zip) $(secs "$t2" "$t3") s."
echo "Method: one run each on $(nproc) shared cores, wall clock; \`.build/lambda\` removed first; the peer zips the same"
echo "staged files."
echo

# Where the bytes go: every allocated section of the bootstrap by origin, from the linker map of the last
# (warm) package run; "deflated" is each group's bytes compressed alone (zlib level 9), i.e. its share of the zip.
cols=()
for name in echo ingest; do
  map=.build/lambda/maps/$name.map
  [ -f "$map" ] && cols+=("$name=$map,.build/lambda/stage/$name/bootstrap")
done
if [ ${#cols[@]} -gt 0 ]; then
  echo "Where the bytes go (allocated sections of the stripped bootstrap by origin, from the linker's map; the four"
  echo "real functions link the same libraries, only their own modules' share differs):"
  echo
  scripts/lambda/size-attribution.py --groups "${cols[@]}"
  echo
  echo "The package's modules each bootstrap links (object files named in its linker map); the local binding"
  echo "(OdinLocal: LocalCompute, BatchStateMachine, the file-backed stores) and the CLI's modules must not be among them:"
  echo
  echo "| function | modules of this package linked | OdinLocal objects | BatchStateMachine mentions |"
  echo "|---|---|---:|---:|"
  for map in .build/lambda/maps/*.map; do
    modules=$(grep -o '/[A-Za-z][A-Za-z]*\.build/' "$map" | sed 's#^/##; s#\.build/$##' | sort -u | paste -sd ' ')
    printf '| %s | %s | %s | %s |\n' "$(basename "$map" .map)" "$modules" \
      "$(grep -c 'OdinLocal\.build/' "$map" || true)" "$(grep -c 'BatchStateMachine' "$map" || true)"
  done
  echo
  if [ -f .build/lambda/maps/ingest.map ]; then
    echo "ingest, largest origins:"
    echo
    scripts/lambda/size-attribution.py .build/lambda/maps/ingest.map --top 16
    echo
    fe=$( (grep -o 'libFoundationEssentials\.a([^)]*)' .build/lambda/maps/ingest.map || true) | sort -u | wc -l)
    sp=$( (grep -o 'libswift_StringProcessing\.a([^)]*)' .build/lambda/maps/ingest.map || true) | sort -u | wc -l)
    crypto=$( (grep -o 'libcrypto\.a([^)]*)' .build/lambda/maps/ingest.map || true) | sort -u | wc -l)
    crypto_all=$(ar t .build/lambda/static/lib/libcrypto.a | wc -l)
    openssl_mb=$(scripts/lambda/size-attribution.py .build/lambda/maps/ingest.map \
      | awk -F'|' '$2 ~ /^ lib(crypto|ssl)\.a $/ {s += $3} END {printf "%.2f", s / 1e6}')
    echo "What keeps the functions under 5 MB (7.5-7.6 MB on 3 Dec before these two changes): (1) no Foundation in"
    echo "what a function links. ingest links $fe members of libFoundationEssentials.a and $sp of"
    echo "libswift_StringProcessing.a (the regex engine): JSON goes through Sources/JSONCoding, times through"
    echo "OdinBasics.Instant, substring search through OdinBasics' UTF-8 search; ModuleHygieneTests fails if a target"
    echo "a function links imports Foundation. (With FoundationEssentials, which Swift marks SHF_GNU_RETAIN member by"
    echo "member, ingest linked 142 of its 209 members: 2.24 MB of the zip.) (2) OpenSSL ($openssl_mb MB of ingest's"
    echo "bootstrap, in echo too), built from Debian's source for what TLS 1.2/1.3 to AWS and the Crypto target"
    echo "use (scripts/lambda/build-static-openssl.sh: no SSL 3/TLS 1.0/1.1/DTLS, engines, legacy provider, DSA,"
    echo "finite-field DH, binary curves, nor the ciphers and digests no such suite negotiates; one section per"
    echo "function, so --gc-sections drops what is not reached): ingest links $crypto of its $crypto_all libcrypto"
    echo "members (Debian's prebuilt libcrypto.a: 752 of 908, 0.53 MB more per zip). What is left of OpenSSL is what"
    echo "the default provider's tables still reach: P-256's precomputed table (0.17 MB), X25519 and with it"
    echo "X448/Ed448 (OpenSSL 3.0 cannot configure them out), AES in every mode, SHA-3, the key encoders/decoders,"
    echo "ASN.1/X.509 and the provider/EVP core. Applied in scripts/package.sh: --no-export-dynamic and"
    echo "-internalize-at-link with -function-sections for this package's modules (so --gc-sections drops their"
    echo "unused public API), libstdc++ linked statically and no DT_RUNPATH (init; docs/lambda-init.md). Not applied:"
    echo "--no-pie (no .rela.dyn) would load libcurl and OpenSSL at a fixed address."
    echo
  fi
fi

# Init time of each packaged bootstrap: process start → first GET next under the Runtime API emulator, with the
# environment the stack gives the functions (placeholder ARNs: init reads configuration and builds clients, it makes
# no AWS call).
swift build -c release --product RuntimeBench >&2
bench=$(swift build -c release --show-bin-path)/RuntimeBench
arn=arn:aws:batch:eu-north-1:123456789012
envs=(--env ODIN_STAGE=bench --env ODIN_BUCKET=odins-ravne-bench-data --env ODIN_TABLE=odins-ravne-bench-state
      --env ODIN_SPOT_QUEUE=$arn:job-queue/odin-spot --env ODIN_OD_QUEUE=$arn:job-queue/odin-on-demand
      --env ODIN_SPOT_CE=$arn:compute-environment/odin-spot --env ODIN_OD_CE=$arn:compute-environment/odin-od
      --env ODIN_WORKER_JOB_DEFINITION=odin-worker --env ODIN_HUGIN_JOB_DEFINITION=odin-hugin
      --env ODIN_SHARE_IDENTIFIER=odin --env ODIN_TOPIC_ARN=arn:aws:sns:eu-north-1:123456789012:odin-notify
      --env ODIN_BUDGET_NAME=odin-monthly --env ODIN_BUDGET_CURRENCY=USD --env ODIN_BUDGET_STOP_AMOUNT=100
      --env ODIN_METRICS_NAMESPACE=OdinsRavne --env ODIN_PROFILE_JSON={} --env AWS_REGION=eu-north-1
      --env AWS_ACCESS_KEY_ID=AKIDBENCH --env AWS_SECRET_ACCESS_KEY=bench-secret)
echo "| function | init ms (median of 20 starts) | RSS after init, MiB |"
echo "|---|---:|---:|"
while read -r name rest; do
  [ "$name" = function ] && continue
  stage=$PWD/.build/lambda/stage/$name
  handler=$name; [ "$name" = echo ] || handler=bootstrap
  result=$("$bench" "$name" "$stage/bootstrap" --invocations 0 --starts 20 --cwd "$stage" "${envs[@]}" \
           --env "_HANDLER=$handler")
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("| %s | %s | %.1f |" % (r["name"], "%.2f" % r["init_ms_median"] if r["init_samples"] else "did not reach next", r["peak_rss_kib"]/1024))' "$result"
done < .build/bench-package-cold.txt
echo
echo "Init: the bootstrap as zipped, started 20 times; a start that never reaches \`GET next\` (an init error) is not counted."
