#!/usr/bin/env bash
# Runs a command with a fresh moto_server on a free loopback port (see ../shared/docs/local-aws.md) and stops the
# server afterwards. The command sees MOTO_ENDPOINT (and AWS_ENDPOINT_URL unless ODIN_KEEP_ENDPOINT=1), dummy
# credentials and a region. Batch runs without Docker (use_docker=false). A second server that fails every Batch job
# is started too, as MOTO_FAILING_ENDPOINT. The AWS contract checker (scripts/contract/server.py: botocore model
# validation and IAM evaluation of infra/stack.yaml's roles for every request the function tests send) runs as
# ODIN_CONTRACT_ENDPOINT; its totals are printed at the end, and any AccessDenied, model violation or checker error
# fails the run (as does ODIN_CONTRACT_REQUIRED=1 with no validated call, which `make test` sets).
# A peer that is missing or does not start (moto_server, the contract checker) ends the script with status 1 and a
# message naming it, before the command runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh
die() { echo "scripts/with-moto.sh: $*" >&2; exit 1; }
for tool in python moto_server; do
  [ -x ".venv/bin/$tool" ] || die "$PWD/.venv/bin/$tool is missing: moto[server] comes from scripts/requirements-test.txt; \
run scripts/venv.sh (or remove .venv and run make venv). The tests cannot run without moto_server."
done
free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p .build
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
# start VAR LOG [ENV=VALUE…]: starts a server in this shell (so its pid is recorded for cleanup) and sets VAR to
# its endpoint.
start() {
  local var=$1 log=$2; shift 2
  local port; port=$(free_port)
  env "$@" .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/moto-api/" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/moto-api/" || {
    cat "$log" >&2
    die "moto_server did not answer on 127.0.0.1:$port within 20 s (its log is above, in $log)"
  }
  curl -sf -X POST -H 'Content-Type: application/json' \
    -d '{"batch":{"use_docker":false},"lambda":{"use_docker":false}}' "http://127.0.0.1:$port/moto-api/config" >/dev/null
  printf -v "$var" '%s' "http://127.0.0.1:$port"
}
start MOTO_ENDPOINT .build/moto.log
start MOTO_FAILING_ENDPOINT .build/moto-failing.log MOTO_SIMPLE_BATCH_FAIL_AFTER=0
export MOTO_ENDPOINT MOTO_FAILING_ENDPOINT
mkdir -p .build/contract
contract_port=$(free_port)
: >.build/contract/calls.jsonl
.venv/bin/python scripts/contract/server.py --port "$contract_port" --record .build/contract/calls.jsonl \
  >.build/contract/checker.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$contract_port/totals" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$contract_port/totals" || {
  cat .build/contract/checker.log >&2
  die "the AWS contract checker (scripts/contract/server.py) did not answer (its log is above)"
}
export ODIN_CONTRACT_ENDPOINT="http://127.0.0.1:$contract_port"
[ "${ODIN_KEEP_ENDPOINT:-0}" = 1 ] || export AWS_ENDPOINT_URL="$MOTO_ENDPOINT"
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-testing} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testing}
export AWS_REGION=${AWS_REGION:-us-east-1} ODIN_VENV="$PWD/.venv"
status=0
"$@" || status=$?
# The contract checker's totals over everything the command sent through the tests' recording proxies.
totals=$(curl -sf "$ODIN_CONTRACT_ENDPOINT/totals") || { echo "contract checker did not answer" >&2; exit 1; }
.venv/bin/python scripts/contract/totals.py "$totals" || status=1
exit "$status"
