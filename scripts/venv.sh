#!/usr/bin/env bash
# Creates the project-local Python venv (.venv) with the test peers, and with the benchmark peers when called as
# `scripts/venv.sh bench`. Idempotent: does nothing when the requirements are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
want=(scripts/requirements-test.txt)
[ "${1:-}" = bench ] && want+=(scripts/requirements-bench.txt)
[ -x .venv/bin/python ] || python3 -m venv .venv
for req in "${want[@]}"; do
  stamp=".venv/.$(basename "$req").$(sha256sum "$req" | cut -c1-12)"
  [ -f "$stamp" ] && continue
  .venv/bin/pip install -q --disable-pip-version-check -r "$req"
  touch "$stamp"
done
# checkov pins an older boto3/botocore: its own venv inside .venv, linked as .venv/bin/checkov.
req=scripts/requirements-checkov.txt
stamp=".venv/.$(basename "$req").$(sha256sum "$req" | cut -c1-12)"
if [ ! -f "$stamp" ] || [ ! -x .venv/bin/checkov ]; then
  [ -x .venv/checkov/bin/python ] || python3 -m venv .venv/checkov
  .venv/checkov/bin/pip install -q --disable-pip-version-check -r "$req"
  ln -sf ../checkov/bin/checkov .venv/bin/checkov
  touch "$stamp"
fi
