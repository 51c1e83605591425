#!/usr/bin/env bash
# CLI benchmark (issue 8): `make demo` wall time on the default sample set (the demo's own command, after the
# build), and `odin download` of 1,000 objects vs `aws s3 cp --recursive` (awscli in .venv), both against one
# moto_server started here, 3 runs each (median). Prints one Markdown section on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-release}
scripts/venv.sh bench >&2
for product in odin munin-worker; do swift build -c "$CONFIG" --product "$product" >&2; done
bin=.build/$CONFIG
py=.venv/bin/python
work=$(mktemp -d /tmp/odin-cli-bench.XXXXXX)
moto_pid=""
cleanup() {
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$moto_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$moto_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# 1. The demo (what `make demo` runs after building): sample generation + the whole local pipeline.
demo_times=()
for i in 1 2 3; do
  start=$(now)
  "$bin/odin" demo --dir "$work/demo" --json >"$work/demo.json" 2>"$work/demo.err"
  demo_times+=("$(echo "$(now) - $start" | bc -l)")
done
demo_median=$(printf '%s\n' "${demo_times[@]}" | median)
read -r files chunks_spot chunks_od generate pipeline < <("$py" - "$work/demo.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(d["files"], d["chunks"]["spot"], d["chunks"]["on_demand"], d["samples"]["generate_seconds"], d["wall_seconds"])
PY
)

# 2. 1,000 objects of 4 KiB under runs/bench/stage3/, downloaded by odin and by the AWS CLI.
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
endpoint="http://127.0.0.1:$port"
for _ in $(seq 200); do curl -sf -o /dev/null "$endpoint/moto-api/" && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL="$endpoint" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
"$py" - "$endpoint" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket="odin-bench")
for i in range(1000):
    s3.put_object(Bucket="odin-bench", Key=f"runs/bench/stage3/part-{i:04d}.json", Body=os.urandom(4096))
PY
odin_times=(); aws_times=()
for i in 1 2 3; do
  rm -rf "$work/odin-dl" "$work/aws-dl"
  start=$(now)
  "$bin/odin" download s3://odin-bench/runs/bench/stage3 --local-path "$work/odin-dl" --json >/dev/null 2>"$work/odin.err"
  odin_times+=("$(echo "$(now) - $start" | bc -l)")
  start=$(now)
  .venv/bin/aws s3 cp --recursive --only-show-errors s3://odin-bench/runs/bench/stage3 "$work/aws-dl" >/dev/null
  aws_times+=("$(echo "$(now) - $start" | bc -l)")
done
odin_count=$(find "$work/odin-dl" -type f | wc -l)
aws_count=$(find "$work/aws-dl" -type f | wc -l)
odin_median=$(printf '%s\n' "${odin_times[@]}" | median)
aws_median=$(printf '%s\n' "${aws_times[@]}" | median)
ratio=$(echo "$aws_median / $odin_median" | bc -l)

cat <<MD
## CLI: \`make demo\` and \`odin download\` (issue 8)

| Measurement | odin | peer | peer / odin |
|---|---|---|---|
| \`odin demo\` wall time, default sample set ($files files; $chunks_spot chunks on Spot, $chunks_od on On-Demand) | $(printf '%.1f' "$demo_median") s (samples $generate s, pipeline $pipeline s in the last run) | target ≤ 60 s | — |
| download 1,000 × 4 KiB objects from one moto_server | $(printf '%.2f' "$odin_median") s ($odin_count files) | \`aws s3 cp --recursive\`: $(printf '%.2f' "$aws_median") s ($aws_count files) | $(printf '%.2f' "$ratio") |

Method: $CONFIG build, median of 3 runs each on this machine (timings depend on its load); the demo is \`odin demo\` after the build (what \`make demo\` runs), with its default fault mode; odin downloads with 16 parallel requests and verifies size and MD5 of every file, the AWS CLI uses its default 10 concurrent requests; both read the same bucket on one moto_server started here; peer / odin > 1 means odin is faster.
MD
