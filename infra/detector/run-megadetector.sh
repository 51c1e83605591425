#!/bin/sh
# run-megadetector.sh IMAGES_JSON OUTPUT_JSON: the Munin external-detector contract for MegaDetector.
#
# IMAGES_JSON is the JSON list of frame files the worker wrote; OUTPUT_JSON is where MegaDetector's batch output
# (format 1.4+, `images[].file` = the paths given) must be written. Runs MegaDetector's own batch script, on the GPU
# when PyTorch sees one. Exit status non-zero on failure; the worker then records the error for those frames.
#
# MD_PYTHON  the Python that has `megadetector` installed (default python3)
# MD_MODEL   the weights file (its name carries the model version MegaDetector reads)
# MD_THRESHOLD  lowest confidence written (default: MegaDetector's); the worker's Stage 1 filter applies its own
set -eu
[ $# -eq 2 ] || { echo "usage: run-megadetector.sh IMAGES_JSON OUTPUT_JSON" >&2; exit 2; }
python="${MD_PYTHON:-python3}"
model="${MD_MODEL:?set MD_MODEL to the MegaDetector weights file}"
# MegaDetector reads the model version from the file name: resolve the link the image makes.
model="$(readlink -f "$model")"
set -- "$model" "$1" "$2" --quiet
[ -n "${MD_THRESHOLD:-}" ] && set -- "$@" --threshold "$MD_THRESHOLD"
exec "$python" -m megadetector.detection.run_detector_batch "$@"
