#!/usr/bin/env bash
# make image: builds the worker image (infra/worker.Dockerfile: munin-worker and hugin on PATH) and pushes it when
# IMAGE_URI names a registry. Without a working container engine (`docker info` / `podman info` fails) it builds
# nothing, says so, and explains the stack's WorkerImageUri parameter.
#   CONTAINER=docker|podman   engine to use (default: the first of docker, podman whose `info` succeeds)
#   IMAGE_URI=<registry>/<repo>:<tag>   push target (default: build only, tagged odins-ravne-worker:<git sha>)
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}

engine=${CONTAINER:-}
if [ -z "$engine" ]; then
  for candidate in docker podman; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then engine=$candidate; break; fi
  done
elif ! { command -v "$engine" >/dev/null 2>&1 && "$engine" info >/dev/null 2>&1; }; then
  engine=""
fi

if [ -z "$engine" ]; then
  cat <<'MSG'
image: no container engine available here (`docker info` and `podman info` fail, or CONTAINER names an engine
that does not answer), so no image was built or pushed.

The stack takes the image as a parameter instead: WorkerImageUri (required) and HuginImageUri (optional; empty
means the worker image, which carries `hugin` too). On a machine with Docker or Podman:
  swift build -c release --static-swift-stdlib --product munin-worker
  swift build -c release --static-swift-stdlib --product hugin
  docker build -f infra/worker.Dockerfile -t <account>.dkr.ecr.<region>.amazonaws.com/odins-ravne-worker:<tag> .
  aws ecr get-login-password --region <region> | docker login --username AWS --password-stdin <account>.dkr.ecr.<region>.amazonaws.com
  docker push <account>.dkr.ecr.<region>.amazonaws.com/odins-ravne-worker:<tag>
(or `make image IMAGE_URI=…` there), then deploy with it:
  make deploy STAGE=dev PARAMS="WorkerImageUri=<account>.dkr.ecr.<region>.amazonaws.com/odins-ravne-worker:<tag> …"
MSG
  exit 0
fi

[ -f infra/worker.Dockerfile ] || { echo "image: infra/worker.Dockerfile is missing (the worker image recipe)" >&2; exit 1; }
if ! grep -q 'hugin' infra/worker.Dockerfile; then
  echo "image: note: infra/worker.Dockerfile does not mention hugin; the Hugin job definition defaults to this image" \
       "and runs \`hugin\`, so pass HuginImageUri=<an image with hugin> to the deploy" >&2
fi

# The Dockerfile copies release binaries built on this Debian 12 host.
"$SWIFT" build -c release --static-swift-stdlib --product munin-worker
"$SWIFT" build -c release --static-swift-stdlib --product hugin

tag=${IMAGE_URI:-odins-ravne-worker:$(git rev-parse --short=12 HEAD 2>/dev/null || echo dev)}
"$engine" build -f infra/worker.Dockerfile -t "$tag" .
if [ -z "${IMAGE_URI:-}" ]; then
  echo "image: built $tag (not pushed: set IMAGE_URI=<registry>/<repo>:<tag> to push)"
  exit 0
fi

registry=${IMAGE_URI%%/*}
case "$registry" in
  *.dkr.ecr.*.amazonaws.com)
    region=$(echo "$registry" | sed -n 's/^[0-9]*\.dkr\.ecr\.\([a-z0-9-]*\)\.amazonaws\.com$/\1/p')
    if command -v aws >/dev/null 2>&1; then
      aws ecr get-login-password --region "$region" | "$engine" login --username AWS --password-stdin "$registry"
    else
      echo "image: no aws CLI to log in to $registry; if the push is refused, log in first:" \
           "aws ecr get-login-password --region $region | $engine login --username AWS --password-stdin $registry" >&2
    fi ;;
esac
"$engine" push "$IMAGE_URI"
echo "image: pushed $IMAGE_URI"
echo "deploy with: make deploy STAGE=<stage> PARAMS=\"WorkerImageUri=$IMAGE_URI …\""
