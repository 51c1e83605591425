# Munin worker image: Debian 12 + the FFmpeg 5.1 runtime libraries + munin-worker (the AWS Batch job command).
#
# No container engine runs on the build machines, so the binary is built on Debian 12 first and copied in:
#   swift build -c release --static-swift-stdlib --product munin-worker
#   docker build -f infra/worker.Dockerfile -t odins-ravne/munin-worker .     (wherever an engine exists)
# The Batch job definition passes: --store s3://<bucket> --run <run>; the chunk index comes from
# AWS_BATCH_JOB_ARRAY_INDEX, set by Batch on every array child.
#
# infra/detector/ holds a ready MegaDetector image (weights fetched at build time). Other external detectors (a
# user's model) are added in a derived image the same way:
#   FROM odins-ravne/munin-worker
#   ... install the model and its runtime ...
#   ENV MUNIN_DETECTOR=external MUNIN_DETECTOR_NAME=megadetector-v5a \
#       MUNIN_DETECTOR_COMMAND="python3 /opt/md/run_detector_batch.py /opt/md/md_v5a.0.0.pt {images} {output}"
FROM debian:12-slim
# checkov:skip=CKV_DOCKER_2: a Batch job container runs one command to completion; Batch reads its exit code, nothing probes its health

# FFmpeg libraries the Media module links (libavformat/libavcodec/libavutil/libswscale), libcurl and OpenSSL for
# the AWS client linked through Odin, zlib for gzip, tzdata for IANA zones (time corrections read
# /usr/share/zoneinfo), CA certificates for HTTPS to S3.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libavformat59 libavcodec59 libavutil57 libswscale6 \
        libcurl4 libssl3 zlib1g libstdc++6 tzdata ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY .build/release/munin-worker /usr/local/bin/munin-worker

# Unprivileged user; downloads, frame files and detector I/O go to /scratch (mount instance storage there for
# large chunks).
RUN useradd --system --uid 10001 --home-dir /scratch munin && mkdir -p /scratch && chown munin /scratch
USER munin
WORKDIR /scratch
ENV MUNIN_SCRATCH=/scratch

ENTRYPOINT ["/usr/local/bin/munin-worker"]
