#!/usr/bin/env bash
# init-counts.sh BOOTSTRAP [echo|real]: what a Lambda bootstrap does from exec to its first `GET next`, in counts that
# do not depend on the machine's load (docs/lambda-init.md): user-space instructions (valgrind callgrind,
# --dump-before=sendmsg), page faults (perf stat, three runs) and system calls (strace -f lines up to and including the
# first sendmsg). The Runtime API is a loopback peer that reads the first request and never answers; the bootstrap is
# killed once it has sent it. `real` gives the stack's ODIN_* variables (as scripts/bench/70-package.sh does).
# Prints one line. Needs valgrind, perf and strace.
set -uo pipefail
boot=$(realpath "$1"); kind=${2:-real}; port=${PORT:-$((19000 + RANDOM % 900))}
arn=arn:aws:batch:eu-north-1:123456789012
envs=(AWS_LAMBDA_RUNTIME_API=127.0.0.1:$port AWS_LAMBDA_FUNCTION_NAME=bench _HANDLER=bootstrap)
if [ "$kind" = real ]; then
  envs+=(ODIN_STAGE=bench ODIN_BUCKET=odins-ravne-bench-data ODIN_TABLE=odins-ravne-bench-state
         ODIN_SPOT_QUEUE=$arn:job-queue/odin-spot ODIN_OD_QUEUE=$arn:job-queue/odin-on-demand
         ODIN_SPOT_CE=$arn:compute-environment/odin-spot ODIN_OD_CE=$arn:compute-environment/odin-od
         ODIN_WORKER_JOB_DEFINITION=odin-worker ODIN_HUGIN_JOB_DEFINITION=odin-hugin ODIN_SHARE_IDENTIFIER=odin
         ODIN_TOPIC_ARN=arn:aws:sns:eu-north-1:123456789012:odin-notify ODIN_BUDGET_NAME=odin-monthly
         ODIN_BUDGET_CURRENCY=USD ODIN_BUDGET_STOP_AMOUNT=100 ODIN_METRICS_NAMESPACE=OdinsRavne 'ODIN_PROFILE_JSON={}'
         AWS_REGION=eu-north-1 AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret)
fi
work=$(mktemp -d)
trap 'kill $peer 2>/dev/null; rm -rf "$work"' EXIT
python3 -u - "$port" > "$work/peer.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
print("LISTENING", flush=True)
held = []
while True:
    c, _ = s.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk: break
        data += chunk
    print("GOT", data.split(b"\r\n")[0].decode(), flush=True)
    held.append(c)
PY
peer=$!
until grep -q LISTENING "$work/peer.log" 2>/dev/null; do sleep 0.05; done
requests() { grep -c GOT "$work/peer.log"; }
wait_for() { for _ in $(seq 400); do [ "$(requests)" -ge "$1" ] && return 0; sleep 0.05; done; echo "no GET next" >&2; exit 1; }
# The child of a wrapper that exec'd (env → perf/strace → bootstrap).
kill_child() { sleep 0.2; kill -9 $(pgrep -P "$1") 2>/dev/null; wait "$1" 2>/dev/null; }

(cd "$work" && exec env -i "${envs[@]}" valgrind --tool=callgrind --dump-before=sendmsg \
   --callgrind-out-file="$work/cg.out" "$boot") > "$work/cg.log" 2>&1 &
cg=$!; wait_for 1; sleep 0.3; kill "$cg" 2>/dev/null; wait "$cg" 2>/dev/null
instructions=$(awk '/^summary:/{print $2; exit}' "$work/cg.out.1")
faults=""
for run in 1 2 3; do
  env -i "${envs[@]}" perf stat -x, -e page-faults -o "$work/perf.$run" "$boot" > /dev/null 2>&1 &
  p=$!; wait_for $((1 + run)); kill_child "$p"
  faults+="$(grep page-faults "$work/perf.$run" | cut -d, -f1) "
done
env -i "${envs[@]}" strace -f -o "$work/strace.out" "$boot" > /dev/null 2>&1 &
s=$!; wait_for 5; kill_child "$s"
syscalls=$(awk '/sendmsg\(/{print NR; exit}' "$work/strace.out")
echo "$1: instructions=$instructions page-faults=[${faults% }] syscalls-to-first-GET=$syscalls"
