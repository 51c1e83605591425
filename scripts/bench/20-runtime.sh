#!/usr/bin/env bash
# Runtime benchmark (issue 2): our echo bootstrap vs a minimal C client (the floor) vs awslambdaric, all against the
# same loopback Runtime API emulator, in one run. Prints a Markdown section.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${RUNTIME_BENCH_INVOCATIONS:-3000}
STARTS=${RUNTIME_BENCH_STARTS:-20}
work=.build/bench-runtime
mkdir -p "$work"
swift build -c release --product RuntimeBench >&2
bin=$(swift build -c release --show-bin-path)
# The bootstrap exactly as `make package` ships it (static stdlib, static HTTP-only libcurl, glibc shim, stripped).
FUNCTIONS=echo scripts/package.sh >&2
cp .build/lambda/stage/echo/bootstrap "$work/bootstrap"
unstripped=$(stat -c %s "$(swift build -c release --scratch-path .build/lambda --show-bin-path)/echo")
cc -O2 -Wall -Werror -o "$work/floor" scripts/bench/peers/runtime_floor.c
cp scripts/bench/peers/echo_app.py "$work/app.py"
bench() { "$bin/RuntimeBench" "$@" --invocations "$N" --starts "$STARTS" --cwd "$work"; }
ours=$(bench ours "$PWD/$work/bootstrap")
floor=$(bench c-floor "$PWD/$work/floor")
if [ -x .venv/bin/python ] && .venv/bin/python -c 'import awslambdaric' 2>/dev/null; then
  ric=$(bench awslambdaric "$PWD/.venv/bin/python" -m awslambdaric app.handler)
else
  ric='{"name":"awslambdaric","missing":true}'
fi
stripped=$(stat -c %s "$work/bootstrap")
zipped=$(stat -c %s functions/echo/bootstrap.zip)
glibc=$(objdump -T "$work/bootstrap" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
python3 - "$ours" "$floor" "$ric" "$unstripped" "$zipped" "$glibc" "$N" "$STARTS" "$stripped" <<'PY'
import json, sys
ours, floor, ric = (json.loads(a) for a in sys.argv[1:4])
size, zipped, glibc, n, starts = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7], sys.argv[8]
stripped = int(sys.argv[9])
def row(r, label):
    if r.get("missing"):
        return f"| {label} | not measured (awslambdaric not installed in .venv) | | | |"
    ratio = r["us_per_invocation"] / floor["us_per_invocation"]
    return (f"| {label} | {r['us_per_invocation']:.1f} | {ratio:.2f}× | {r['init_ms_median']:.2f} | "
            f"{r['peak_rss_kib']/1024:.1f} |" + (f" {r['failures']} failed" if r["failures"] else ""))
print("## Lambda runtime (echo, loopback Runtime API emulator)")
print()
print(f"{n} sequential next→response cycles with a 24-byte event after 100 warm-up ones; init = process start → "
      f"first `GET next`, median of {starts} starts. Every runtime talks to the same emulator (its own cost is in every "
      f"row, so the ratio to the floor understates our overhead relative to the bare protocol).")
print()
print("| runtime | µs / invocation | vs C floor | init ms (median) | peak RSS MiB |")
print("|---|---|---|---|---|")
print(row(ours, "ours (`bootstrap`, Swift, libcurl)"))
print(row(floor, "C floor (raw socket, 2 round trips)"))
print(row(ric, "awslambdaric 4.2.2 (Python echo)"))
print()
print(f"`bootstrap` as `make package` ships it: {size/1e6:.2f} MB unstripped, {stripped/1e6:.2f} MB stripped, "
      f"{zipped/1e6:.2f} MB as `functions/echo/bootstrap.zip`; highest glibc symbol version required: {glibc}. "
      f"Targets: overhead ≤ 1.3× the floor, init ≤ 3 ms, ≤ 10 MB unstripped, ≤ 5 MB zipped, RSS ≤ 15 MB.")
PY
