"""Prints the contract checker's totals (scripts/with-moto.sh calls it at the end of a run) and exits 1 when any
call was denied, broke its operation's model, came from a caller that is not a template role, or could not be
checked, or when a self-test request of the checker was not rejected the way it must be; with ODIN_CONTRACT_REQUIRED=1 (make test) also when no call was validated at all."""

import json
import os
import sys


def main():
    totals = json.loads(sys.argv[1])
    print(f"AWS contract: {totals['validated']} calls validated against botocore's models, "
          f"{totals['iamEvaluated']} IAM-enforced with infra/stack.yaml's roles, "
          f"AccessDenied = {totals['accessDenied']}, model violations = {totals['modelViolations']}, "
          f"unknown callers = {totals['unknownCallers']}, checker errors = {totals['checkerErrors']} "
          f"({totals['calls']} calls, {totals['stacks']} test stacks; checker self-tests: {totals['selfTests']}, "
          f"failed {totals['selfTestsFailed']})")
    failed = any(totals[key] for key in ("accessDenied", "modelViolations", "unknownCallers", "checkerErrors",
                                         "selfTestsFailed"))
    if failed:
        print("AWS contract FAILED (from .build/contract/checker.log):", file=sys.stderr)
        log = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".build", "contract", "checker.log")
        with open(log, encoding="utf-8", errors="replace") as handle:
            lines = [line.rstrip() for line in handle if line.startswith("contract:")]
        for line in lines[:30]:
            print("  " + line[:400], file=sys.stderr)
        if len(lines) > 30:
            print(f"  … and {len(lines) - 30} more", file=sys.stderr)
    if os.environ.get("ODIN_CONTRACT_REQUIRED") == "1" and totals["validated"] == 0:
        print("AWS contract FAILED: no call was validated (the function tests did not run through the checker)",
              file=sys.stderr)
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
