#!/usr/bin/env bash
# Cost simulation (issue 9): ours vs static vs batch-default (and all-On-Demand as the makespan reference) on the two
# shipped scenarios, the kill-switch overshoot, and the time to simulate a 30-day season of 5 million images.
# Prints one Markdown section on stdout and regenerates the results block and charts of docs/cost-simulation.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product odin >&2
odin=$(swift build -c release --show-bin-path)/odin
seed=${COST_BENCH_SEED:-1}
images=${COST_BENCH_IMAGES:-5000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$odin" simulate --trace scenarios/field-season.trace --policy all --seed "$seed" --json --no-samples --svg docs/cost-field-season.svg > "$tmp/field.json"
"$odin" simulate --trace scenarios/spot-scarce.trace --policy all --seed "$seed" --json --no-samples --svg docs/cost-spot-scarce.svg > "$tmp/scarce.json"
# Makespan under a 10 %/hour interruption rate with Spot otherwise available (the field season, no gaps).
"$odin" simulate --trace scenarios/field-season.trace --set interruptions_per_hour=0.1 --policy all --seed "$seed" --json --no-samples > "$tmp/interrupt.json"
# Kill-switch: the field season with a budget the fleet crosses; the alarm reaches the function 5 minutes later.
"$odin" simulate --trace scenarios/field-season.trace --set budget=20 --set alarm_delay=5m --policy all --seed "$seed" --json --no-samples > "$tmp/budget.json"
# Speed: a synthetic 30-day season (wall time of the whole process, release build, and its CPU time: the machine may
# be shared). The budget is raised so neither pacing nor the kill-switch cuts the season short: every image is
# ingested, planned, run and accounted.
printf 'budget:\n  amount: 1000000\n' > "$tmp/speed-profile.yaml"
speed_season() {  # images policy
  "$odin" simulate --profile "$tmp/speed-profile.yaml" --synthetic "days=30,images=$1,cameras=100,dumps=4,interruptions_per_hour=0.05" --policy "$2" --seed "$seed" --json --no-samples
}
TIMEFORMAT='%R %U %S'
for policy in ours static batch-default; do
  { time speed_season "$images" "$policy" > "$tmp/speed-$policy.json" 2> /dev/null; } 2> "$tmp/speed-$policy.time"
done
# When ours misses its target: where its CPU time goes (perf, cpu-clock sampling, on a 1/5-size season of ours).
profile_images=$(( images / 5 ))
if python3 -c 'import sys; a = open(sys.argv[1]).read().split(); sys.exit(0 if float(a[0]) > 30 else 1)' "$tmp/speed-ours.time" \
   && command -v perf > /dev/null \
   && perf record -q -e cpu-clock -F 499 -g -o "$tmp/perf.data" -- "$odin" simulate --profile "$tmp/speed-profile.yaml" \
        --synthetic "days=30,images=$profile_images,cameras=100,dumps=4,interruptions_per_hour=0.05" --policy ours \
        --seed "$seed" --json --no-samples > /dev/null 2>&1; then
  perf script -i "$tmp/perf.data" -F ip,sym 2> /dev/null | swift demangle --simplified > "$tmp/perf.txt" || true
fi

python3 - "$tmp" "$images" "$profile_images" <<'PY'
import json, sys, re, pathlib
tmp, images, profile_images = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
load = lambda n: {r["policy"]: r for r in json.loads((tmp / n).read_text())}
field, scarce, inter, budget = load("field.json"), load("scarce.json"), load("interrupt.json"), load("budget.json")
def times(p): return [float(x) for x in (tmp / f"speed-{p}.time").read_text().split()]
def speed(p): return times(p)[0]
def cpu(p): return times(p)[1] + times(p)[2]
def profile_shares():
    """Inclusive shares of the simulator's main parts in the perf samples (a part counts once per sample)."""
    path = tmp / "perf.txt"
    if not path.exists(): return None
    samples, stack = [], []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(("\t", " ")):
            fields = line.strip().split(" ", 1)
            stack.append(fields[1] if len(fields) > 1 else "")
        elif stack or line.strip() == "":
            if stack: samples.append(stack)
            stack = []
    if stack: samples.append(stack)
    if not samples: return None
    parts = [("sealing (RunSealer.finishSeal: claims, manifest, submission)", lambda st: any("RunSealer.finishSeal" in f for f in st)),
             ("state-store queries (InMemoryStateStore.query)", lambda st: any("InMemoryStateStore.query" in f for f in st)),
             ("ingest (IngestService.handle, without the seals it starts)", lambda st: any("IngestService.handle" in f for f in st) and not any("RunSealer.finishSeal" in f for f in st)),
             ("job events (JobEventsService.handle)", lambda st: any("JobEventsService.handle" in f for f in st)),
             ("compute model (SimulatedBatch)", lambda st: any("SimulatedBatch." in f for f in st) and not any("JobEventsService" in f or "RunSealer" in f for f in st)),
             ("reference counting (swift_retain/swift_release, self)", lambda st: st[0].startswith(("swift_retain", "swift_release", "swift_bridgeObjectRetain", "swift_bridgeObjectRelease"))),
             ("memory allocation (malloc/free, self)", lambda st: any(st[0].startswith(x) for x in ("malloc", "_int_malloc", "_int_free", "free", "cfree", "unlink_chunk", "malloc_consolidate")))]
    return len(samples), [(name, 100 * sum(1 for st in samples if test(st)) / len(samples)) for name, test in parts]
def money(x): return f"{x:.4f}" if abs(x) < 10 else f"{x:,.2f}"
def ratio(a, b): return f"{a / b:.2f}×" if b else "n/a"
cur = field["ours"]["prices"]["currency"]
out = []
out.append("## Cost simulation: ours vs static vs batch-default (issue 9)\n")
out.append(f"Simulated with `odin simulate` (release build) over the shipped traces; prices: {field['ours']['prices']['instanceType']} Spot {field['ours']['prices']['spotPerHour']} {cur}/h [{field['ours']['prices']['spotOrigin']}], On-Demand {field['ours']['prices']['onDemandPerHour']} {cur}/h [{field['ours']['prices']['onDemandOrigin']}]. Every other input is a simulation input listed in the trace files. Costs are simulated, not billed.\n")
out.append(f"| scenario | policy | total cost ({cur}) | vs ours | idle vCPU-min after drain | per run | Spot share | makespan p50 / max (s) |")
out.append("|---|---|---:|---:|---:|---:|---:|---:|")
for name, rs in (("field-season", field), ("spot-scarce", scarce)):
    for p in ("ours", "static", "batch-default", "on-demand"):
        r = rs[p]
        out.append(f"| {name} | {p} | {money(r['totalCost'])} | {ratio(r['totalCost'], rs['ours']['totalCost'])} | {r['idleVcpuMinutesAfterDrain']:.1f} | {r['idleVcpuMinutesPerRun']:.2f} | {100*r['spotWorkShare']:.1f} % | {r['makespan']['p50']:.0f} / {r['makespan']['max']:.0f} |")
o = budget["ours"]["budget"]
bd = budget["batch-default"]["budget"]
targets = [
    ("idle vCPU-minutes after drain per run ≤ 2 (ours, field-season)", f"{field['ours']['idleVcpuMinutesPerRun']:.2f}", field['ours']['idleVcpuMinutesPerRun'] <= 2),
    ("overshoot after the alarm reaches the function ≤ 60 s of fleet cost (ours, budget 20)",
     f"{o.get('overshootSecondsOfFleetCost', float('nan')):.1f} s ({money(o.get('overshootCost') or 0)} {cur}); batch-default (no kill-switch): {money(bd.get('overshootCost') or 0)} {cur}" if o.get('alarmReachedFunctionAt') is not None else "alarm not reached",
     o.get('overshootSecondsOfFleetCost') is not None and o['overshootSecondsOfFleetCost'] <= 60),
    ("≥ 90 % of work on Spot when Spot is available (ours, field-season)", f"{100*field['ours']['spotWorkShare']:.1f} %", field['ours']['spotWorkShare'] >= 0.9),
    ("makespan ≤ 1.3× all-On-Demand at 10 %/h interruptions (ours p50 vs on-demand p50)",
     f"{inter['ours']['makespan']['p50']:.0f} s vs {inter['on-demand']['makespan']['p50']:.0f} s = {ratio(inter['ours']['makespan']['p50'], inter['on-demand']['makespan']['p50'])} (p95: {ratio(inter['ours']['makespan']['p95'], inter['on-demand']['makespan']['p95'])})",
     inter['ours']['makespan']['p50'] <= 1.3 * inter['on-demand']['makespan']['p50']),
    (f"simulate 30 days × {images:,} images ≤ 30 s (ours)", f"{speed('ours'):.1f} s wall, {cpu('ours'):.1f} CPU-s (static {speed('static'):.1f} s / {cpu('static'):.1f} CPU-s, batch-default {speed('batch-default'):.1f} s / {cpu('batch-default'):.1f} CPU-s); ours completed {json.loads((tmp/'speed-ours.json').read_text())['imagesInCompletedRuns']:,} images", speed('ours') <= 30),
]
out.append("")
out.append("| target | measured | met |")
out.append("|---|---|---|")
for t, m, ok in targets: out.append(f"| {t} | {m} | {'yes' if ok else 'NO'} |")
errors = sum(r["invariants"]["eventErrors"] + r["invariants"]["jobsStartedWhileKillSwitchActive"] for rs in (field, scarce, inter, budget) for r in rs.values())
if speed('ours') > 30:
    shares = profile_shares()
    why = f"**What stands in the way of ≤ 30 s (ours):** {speed('ours'):.1f} s wall for {cpu('ours'):.1f} CPU-s: "
    why += (f"the process alone needs {cpu('ours') / 30:.2f}× the target even on an idle core" if cpu('ours') > 30
            else "the CPU time meets the target, the wall time is the machine's load")
    why += f"; the static policy, which runs no control logic, takes {cpu('static'):.1f} CPU-s on the same season. "
    if shares:
        count, parts = shares
        why += (f"Where ours spends its CPU time (perf, cpu-clock at 499 Hz, {count:,} samples of a {profile_images:,}-image season; "
                "inclusive shares, a sample can count in several rows): " + "; ".join(f"{name} {share:.1f} %" for name, share in parts) + ".")
    else:
        why += "(No profile: `perf` is not available or could not sample here.)"
    out.append("")
    out.append(why)
out.append("")
out.append(f"Method: each policy replays the same trace with seed {json.loads((tmp/'field.json').read_text())[0]['seed']}; `ours` runs Odin's production ingest/job-events/sweeper/budget-guard code against a simulated Batch (scale-up latency, Spot interruptions, capacity gaps, per-image time); control-logic errors and jobs started under an active kill-switch across all runs: {errors}. Wall times include process start and depend on machine load.")
section = "\n".join(out) + "\n"
print(section)
doc = pathlib.Path("docs/cost-simulation.md")
if doc.exists():
    text = doc.read_text()
    def td(r):
        d = r["invariants"]["teardownAfterDrain"]
        return f"{d['max']:.0f}" if d["count"] else "never (fleet stays up)"
    def detail(rs):
        rows = ["| policy | reclaimed attempts | chunks fallen back | failed chunks | Spot / On-Demand cost | Odin ledger estimate | teardown after drain (max s) |", "|---|---:|---:|---:|---:|---:|---:|"]
        for p in ("ours", "static", "batch-default", "on-demand"):
            r = rs[p]
            led = money(r["ledgerEstimate"]) if r.get("ledgerEstimate") is not None else "n/a"
            rows.append(f"| {p} | {r['attemptsReclaimed']} | {r['chunksFallenBack']} | {r['chunksFailed']} | {money(r['spotCost'])} / {money(r['onDemandCost'])} | {led} | {td(r)} |")
        return "\n".join(rows) + "\n"
    gen = "<!-- BEGIN GENERATED (scripts/bench/80-cost.sh) -->\n" + section + "\n### field-season\n\n" + detail(field) + "\n![field-season](cost-field-season.svg)\n\n### spot-scarce\n\n" + detail(scarce) + "\n![spot-scarce](cost-spot-scarce.svg)\n<!-- END GENERATED -->"
    text = re.sub(r"<!-- BEGIN GENERATED \(scripts/bench/80-cost.sh\) -->.*<!-- END GENERATED -->", lambda _: gen, text, flags=re.S)
    doc.write_text(text)
PY
