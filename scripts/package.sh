#!/usr/bin/env bash
# make package: builds every Lambda function (or FUNCTIONS="ingest sweeper") for provided.al2023 and writes
# functions/<name>/bootstrap.zip, deterministically (same binary in -> same zip bytes out).
#
# Per function: `swift build -c release --static-swift-stdlib --product <name>` in its own scratch path
# (.build/lambda, so the link flags below never invalidate anyone's debug or release build), linked with
#   - scripts/lambda/glibc-shim.c and --wrap=hypotf/--wrap=hypot (glibc 2.35 symbols -> 2.2.5 ones),
#   - a static HTTP(S)-only libcurl built from Debian's source package (scripts/lambda/build-static-curl.sh; the
#     system libcurl.so.4 would drag 29 shared libraries into lib/, ~6.9 MB zipped) on a reduced static OpenSSL,
#     also built from Debian's source package (scripts/lambda/build-static-openssl.sh: TLS 1.2/1.3 and what the
#     Crypto target uses), and Debian's static zlib; the Swift targets that import libcurl or OpenSSL (CurlHTTP,
#     Crypto) compile against those libraries' own headers; ODIN_SYSTEM_CURL=1 links the system libraries
#     instead (and bundles them),
#   - libstdc++ statically (libstdc++.a; its ~3,400 symbol relocations were resolved at every cold start), no
#     DT_RUNPATH (--disable-local-rpath),
#   - lld with --as-needed ahead of every library (via a clang config file: SwiftPM puts -Xlinker flags after the
#     libraries, where --as-needed is too late; gold keeps libraries referenced only from garbage-collected code,
#     lld does not), so C libraries of targets the function links but never calls are not loaded;
# then stripped, checked (no GLIBC_ > 2.34 etc.: scripts/lambda/check-glibc.sh; every ldd dependency outside the
# allowlist is bundled into lib/, which Lambda puts on LD_LIBRARY_PATH, and checked the same way), and zipped by
# odin-package (Sources/Compression/ZipWriter.swift). Prints one line per function: sizes and the zip's SHA-256
# (the deploy uploads it as functions/<name>/<sha256>.zip). The linker's map of each bootstrap goes to
# .build/lambda/maps/<name>.map (where the bytes come from: scripts/lambda/size-attribution.py).
# Zips above ODIN_MAX_ZIP_BYTES (default 5000000) are reported; with ODIN_STRICT_SIZE=1 they fail the build.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SCRATCH=.build/lambda
MAX_ZIP_BYTES=${ODIN_MAX_ZIP_BYTES:-5000000}

fail() { echo "package: $*" >&2; exit 1; }

if [ -n "${FUNCTIONS:-}" ]; then
  read -r -a names <<<"$FUNCTIONS"
else
  names=()
  for spec in functions/*/function.json; do names+=("$(basename "$(dirname "$spec")")"); done
fi
[ ${#names[@]} -gt 0 ] || fail "no functions/*/function.json found"

mkdir -p "$SCRATCH/shim"
cc -O2 -fPIC -c scripts/lambda/glibc-shim.c -o "$SCRATCH/shim/glibc-shim.o"
# Static libcurl (HTTP/HTTPS only) + the reduced static OpenSSL and Debian's static zlib, searched before the system's shared ones.
# lld resolves archives in any order, so listing -lssl -lcrypto here pulls in only what libcurl.a needs.
STATIC=$PWD/$SCRATCH/static
# The C++ standard library the Swift runtime needs is linked statically too (libstdc++.a; as a shared library
# the dynamic loader resolved its ~3,400 symbol relocations (vtables, typeinfo) at every start: 61% of
# echo's instructions before its first GET next; callgrind 2.71 M -> 1.06 M). libgcc's unwinder stays shared:
# gcc 12's libgcc_eh.a needs _dl_find_object@GLIBC_2.35.
STATIC_CXX=-l:libstdc++.a
HEADERS=()
if [ "${ODIN_SYSTEM_CURL:-0}" = 1 ]; then
  printf -- '-fuse-ld=lld\n-Wl,--as-needed\n%s\n' "$STATIC_CXX" > "$SCRATCH/shim/link.cfg"
else
  scripts/lambda/build-static-curl.sh
  printf -- '-fuse-ld=lld\n-Wl,--as-needed\n-L%s/lib\n-lssl\n-lcrypto\n%s\n' "$STATIC" "$STATIC_CXX" > "$SCRATCH/shim/link.cfg"
  # The headers of the libraries linked (the reduced OpenSSL's configuration differs from the system's), ahead of
  # /usr/include for C targets and Swift's Clang importer (CCurl, COpenSSL).
  HEADERS=(-Xcc "-I$STATIC/include")
fi
# Size (BENCHMARKS.md "Lambda packaging" has the attribution; scripts/lambda/size-attribution.py reads the maps):
#   --no-export-dynamic: the static stdlib's link arguments export every symbol of our modules (for dladdr names in
#     backtraces; a stripped bootstrap has no other symbol table): 0.5 MB of .dynsym/.dynstr/.gnu.hash, which are
#     also garbage-collection roots. lld takes the last of --export-dynamic/--no-export-dynamic.
#   PIE is kept: --no-pie would drop the R_X86_64_RELATIVE relocations (1.4 MB of .rela.dyn with Debian's prebuilt
#     OpenSSL, 1.27 MB with the reduced one; measured 0.14 MB of zip and 2.2 MiB of RSS) but would load the bootstrap's image, with the statically linked libcurl and OpenSSL
#     that parse network input, at a fixed address. (RELR packing keeps PIE but needs glibc 2.36; Lambda has 2.34.)
#   -internalize-at-link -function-sections (Swift frontend): by default Swift marks the section of every public
#     symbol "retain" (SHF_GNU_RETAIN), so --gc-sections could not drop the public API a function never calls (the
#     CloudFormation/EC2/STS clients, the CLI-only parts of Odin); internalizing lets it, since a bootstrap is one
#     static link unit. Only this package's modules: the toolchain's prebuilt stdlib and FoundationEssentials keep it.
#     (Changing these flags in an existing .build/lambda may not recompile; remove .build/lambda once.)
LINK=(-Xlinker "$PWD/$SCRATCH/shim/glibc-shim.o" -Xlinker --wrap=hypotf -Xlinker --wrap=hypot
      -Xswiftc -Xclang-linker -Xswiftc "--config=$PWD/$SCRATCH/shim/link.cfg"
      -Xlinker --no-export-dynamic
      -Xswiftc -Xfrontend -Xswiftc -internalize-at-link -Xswiftc -Xfrontend -Xswiftc -function-sections)
#   --disable-local-rpath: no DT_RUNPATH $ORIGIN. Nothing is loaded from beside the bootstrap (bundled libraries go to
#     lib/, which Lambda's LD_LIBRARY_PATH names), and with it the loader probed ~20 glibc-hwcaps/tls subdirectories of
#     the bootstrap's directory before finding libm (41 of echo's 125 system calls before its first GET next).
BUILD=("$SWIFT" build -c release --scratch-path "$SCRATCH" --static-swift-stdlib --disable-local-rpath "${HEADERS[@]}" "${LINK[@]}")

"${BUILD[@]}" --product odin-package >&2
BIN=$("${BUILD[@]}" --show-bin-path)

printf '%-14s %12s %12s  %s\n' function bootstrap zip sha256
over=()
for name in "${names[@]}"; do
  spec=functions/$name/function.json
  [ -f "$spec" ] || fail "$spec is missing (FUNCTIONS names folders under functions/)"
  product=$(sed -n 's/.*"product"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$spec" | head -1)
  [ -n "$product" ] || fail "$spec has no \"product\" field naming the SwiftPM product"
  rm -f "$BIN/$product"  # relink every time: SwiftPM does not track the shim object or the linker config file
  mkdir -p "$SCRATCH/maps"
  "${BUILD[@]}" -Xlinker "-Map=$PWD/$SCRATCH/maps/$name.map" --product "$product" >&2

  stage=$SCRATCH/stage/$name
  rm -rf "$stage"; mkdir -p "$stage"
  strip --strip-all -o "$stage/bootstrap" "$BIN/$product"
  chmod 0755 "$stage/bootstrap"

  # Shared libraries outside the allowlist go into lib/ (ldd lists the whole closure).
  scripts/lambda/bundle-libs.sh "$stage/bootstrap" "$stage" >/dev/null || fail "$name: cannot bundle its shared libraries"
  # Libraries that must never reach a Lambda zip: FFmpeg (the worker's, via Odin -> Munin -> Media) and full
  # Foundation/ICU (Lambda binaries use FoundationEssentials).
  banned=$(find "$stage" -path "$stage/lib/*" -type f -printf '%f\n' | grep -E '^(libav|libsw|libpostproc|libicu|libFoundation)' | tr '\n' ' ' || true)
  [ -z "$banned" ] || fail "$name: links $banned- a live code path reaches Media/FFmpeg or full Foundation; keep it out of the Lambda targets"

  scripts/lambda/check-glibc.sh "$stage/bootstrap" $(ls "$stage"/lib/* 2>/dev/null || true) \
    || fail "$name: needs symbol versions Lambda's provided.al2023 does not have (see above)"

  "$BIN/odin-package" zip "functions/$name/bootstrap.zip" "$stage" >/dev/null
  zip_bytes=$(stat -c %s "functions/$name/bootstrap.zip")
  boot_bytes=$(stat -c %s "$stage/bootstrap")
  libs=$(find "$stage" -path "$stage/lib/*" -type f | wc -l)
  sha=$(sha256sum "functions/$name/bootstrap.zip" | cut -d' ' -f1)
  printf '%-14s %12d %12d  %s%s\n' "$name" "$boot_bytes" "$zip_bytes" "$sha" "$([ "$libs" -gt 0 ] && echo "  (+$libs libs in lib/)")"
  [ "$zip_bytes" -le "$MAX_ZIP_BYTES" ] || over+=("$name ($zip_bytes bytes)")
done
# Deploy manifest: S3 keys and the stack parameters of every packaged function (read by the deploy).
python3 - "$SCRATCH/manifest.json" "${names[@]}" <<'PY'
import hashlib, json, os, platform, sys
out, names = sys.argv[1], sys.argv[2:]
arch = {"x86_64": "x86_64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
functions = {}
for name in names:
    spec = json.load(open(f"functions/{name}/function.json"))
    path = f"functions/{name}/bootstrap.zip"
    data = open(path, "rb").read()
    sha = hashlib.sha256(data).hexdigest()
    key = f"functions/{name}/{sha}.zip"
    entry = {"zip": path, "bytes": len(data), "sha256": sha, "key": key, "parameters": {}}
    names_ = spec.get("parameters", {})
    if names_:
        entry["parameters"] = {names_["codeKey"]: key, names_["memory"]: str(spec["memoryMB"]),
                               names_["timeout"]: str(spec["timeoutSeconds"])}
    functions[name] = entry
json.dump({"architecture": arch, "functions": functions}, open(out, "w"), indent=2, sort_keys=True)
PY
echo "deploy manifest: $SCRATCH/manifest.json (Architecture, S3 keys, per-function stack parameters)" >&2

if [ ${#over[@]} -gt 0 ]; then
  echo "package: over the ${MAX_ZIP_BYTES}-byte zip target: ${over[*]}" >&2
  [ "${ODIN_STRICT_SIZE:-0}" = 1 ] && exit 1
fi
exit 0
