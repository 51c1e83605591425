#!/usr/bin/env bash
# Odin control plane (issue 4): ingest planning for 100,000 keys, job-events per-event time in steady state, and port
# calls per run (SubmitJob per 10,000 chunks, state writes per event), counted by wrapping the ports over the local
# binding. Prints one Markdown section on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product OdinBench >&2
bin=$(swift build -c release --show-bin-path)/OdinBench
# args: keys for planning and the in-memory burst; records for the file-backed burst.
"$bin" "${ODIN_BENCH_KEYS:-100000}" "${ODIN_BENCH_LOCAL_KEYS:-10000}" 2>/dev/null
