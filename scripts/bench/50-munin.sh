#!/usr/bin/env bash
# Munin media benchmark: frame sampling vs the ffmpeg CLI, probe bytes read on a ~500 MB MP4, stills per core.
# Prints one Markdown section on stdout; progress on stderr. Never asserts; every figure is measured in this run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=$(mktemp -d /tmp/munin-bench.XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
log() { echo "[50-munin] $*" >&2; }

log "building munin-worker (release)"
swift build -c release --product munin-worker >&2
bin="$root/.build/release/munin-worker"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
# Prints "wall cpu" seconds of one run of a command (cpu = user + sys of the process and its threads).
measure() {
  local TIMEFORMAT='%R %U %S' out
  out=$( { time "$@" > /dev/null 2>&1 ; } 2>&1 )
  awk '{ printf "%s %.3f\n", $1, $2 + $3 }' <<< "$out"
}
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

# --- 1. Frame sampling: 1080p H.264, 0.3 s interval, full-size RGB, vs ffmpeg -vf fps=...,format=rgb24 -f null.
log "making a 1080p H.264 clip"
ff -f lavfi -i "testsrc2=size=1920x1080:rate=25:duration=12" -c:v libx264 -preset veryfast -pix_fmt yuv420p \
   "$work/clip1080.mp4"
# Frame counts (untimed), then 5 timed runs each: wall and CPU (user+sys) seconds, medians.
ours_frames=$("$bin" sample "$work/clip1080.mp4" --interval 0.3 | sed -E 's/.*"frames":([0-9]+).*/\1/')
theirs_frames=$(ffmpeg -hide_banner -i "$work/clip1080.mp4" -vf "fps=1/0.3,format=rgb24" -f null - 2>&1 \
                | tr '\r' '\n' | grep -oE 'frame= *[0-9]+' | tail -1 | grep -oE '[0-9]+')
ours_w=(); ours_c=(); theirs_w=(); theirs_c=()
for i in 1 2 3 4 5; do
  read -r w c <<< "$(measure "$bin" sample "$work/clip1080.mp4" --interval 0.3)"; ours_w+=("$w"); ours_c+=("$c")
  read -r w c <<< "$(measure ffmpeg -hide_banner -loglevel error -i "$work/clip1080.mp4" \
                     -vf "fps=1/0.3,format=rgb24" -f null -)"; theirs_w+=("$w"); theirs_c+=("$c")
done
ot=$(median "${ours_w[@]}"); tt=$(median "${theirs_w[@]}"); oc=$(median "${ours_c[@]}"); tc=$(median "${theirs_c[@]}")
ours_fps=$(calc "$ours_frames / $ot"); theirs_fps=$(calc "$theirs_frames / $tt")
ratio=$(calc "$ours_fps / $theirs_fps"); cpu_ratio=$(calc "$tc / $oc")

# --- 2. Probe bytes: a ~500 MB MP4 with its index (moov) at the end.
log "making a ~500 MB MP4 (noisy lossless 1080p, looped by stream copy)"
ff -f lavfi -i "testsrc2=size=1920x1080:rate=25:duration=1,noise=alls=30:allf=t" -c:v libx264 -preset ultrafast \
   -qp 0 -pix_fmt yuv420p "$work/seed.mp4"
seed=$(stat -c %s "$work/seed.mp4")
loops=$(( (500 * 1000 * 1000 + seed - 1) / seed - 1 ))  # at least 500 MB
ff -stream_loop "$loops" -i "$work/seed.mp4" -c copy "$work/big.mp4"
rm -f "$work/seed.mp4"
big=$(stat -c %s "$work/big.mp4")
probe=$("$bin" probe "$work/big.mp4" --block-size 65536)
probe_bytes=$(echo "$probe" | sed -E 's/.*"bytes_read":([0-9]+).*/\1/')
# The same file over loopback HTTP with Range support: bytes the server sent to FFmpeg's http protocol (ours, .url)
# and to ffprobe.
port_file="$work/port"
python3 "$root/scripts/bench/range_server.py" "$work" > "$port_file" &
server_pid=$!
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
port=$(head -1 "$port_file")
cp -l "$work/big.mp4" "$work/big-url.mp4" 2>/dev/null || cp "$work/big.mp4" "$work/big-url.mp4"
cp -l "$work/big.mp4" "$work/big-ffprobe.mp4" 2>/dev/null || cp "$work/big.mp4" "$work/big-ffprobe.mp4"
"$bin" probe "http://127.0.0.1:$port/big-url.mp4" > /dev/null
url_sent=$(curl -s "http://127.0.0.1:$port/__bytes/big-url.mp4")
ffprobe -v error -show_streams "http://127.0.0.1:$port/big-ffprobe.mp4" > /dev/null
ffprobe_sent=$(curl -s "http://127.0.0.1:$port/__bytes/big-ffprobe.mp4")
kill "$server_pid" 2>/dev/null || true; server_pid=""

# --- 3. Stills per core: 1920x1080 JPEGs with an EXIF block (written by python3 struct, test data only).
log "making 60 JPEG stills with EXIF"
mkdir -p "$work/stills/cam01"
ff -f lavfi -i "testsrc2=size=1920x1080:rate=1:duration=60" -q:v 3 "$work/stills/cam01/plain_%03d.jpg"
python3 - "$work/stills/cam01" <<'PY'
import os, struct, sys
d = sys.argv[1]
for i, name in enumerate(sorted(os.listdir(d))):
    dt = b"2024:07:01 12:%02d:%02d\x00" % (i // 60, i % 60)
    # TIFF (II): IFD0 with one entry (ExifIFD pointer) -> Exif IFD with DateTimeOriginal.
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, 26) + struct.pack("<I", 0)
    exif = struct.pack("<H", 1) + struct.pack("<HHII", 0x9003, 2, len(dt), 44) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + exif + dt
    app1 = b"Exif\x00\x00" + tiff
    data = open(os.path.join(d, name), "rb").read()
    out = data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
    open(os.path.join(d, name.replace("plain_", "IMG_")), "wb").write(out)
    os.remove(os.path.join(d, name))
PY
stills=$(ls "$work/stills/cam01" | wc -l)
s_w=(); s_c=(); p_w=(); p_c=()
for i in 1 2 3 4 5; do
  read -r w c <<< "$(measure "$bin" stills "$work/stills" --concurrency 1)"; s_w+=("$w"); s_c+=("$c")
  read -r w c <<< "$(measure ffmpeg -hide_banner -loglevel error -threads 1 -lowres 2 \
                     -i "$work/stills/cam01/IMG_%03d.jpg" -vf "scale=320:-1,format=gray" -threads 1 -f null -)"
  p_w+=("$w"); p_c+=("$c")
done
"$bin" stills "$work/stills" --concurrency 1 > "$work/stills.json"
so=$(median "${s_w[@]}"); st=$(median "${p_w[@]}"); sc=$(median "${s_c[@]}"); pc=$(median "${p_c[@]}")
stills_ours=$(calc "$stills / $sc"); stills_theirs=$(calc "$stills / $pc")

f1() { printf '%.1f' "$1"; }
f2() { printf '%.2f' "$1"; }
cat <<MD
## Munin media (FFmpeg wrapper, EXIF, motion-v1)

| Measure | Ours (munin-worker) | Peer | Ratio (ours / peer) |
|---|---|---|---|
| 1080p H.264 (12 s, 25 fps), frames sampled every 0.3 s to full-size RGB | $(f1 "$ours_fps") frames/s wall ($ours_frames frames, $(f2 "$ot") s wall, $(f2 "$oc") s CPU) | ffmpeg \`-vf fps=1/0.3,format=rgb24 -f null\`: $(f1 "$theirs_fps") frames/s wall ($theirs_frames frames, $(f2 "$tt") s wall, $(f2 "$tc") s CPU) | $(f2 "$ratio")× by wall; $(f2 "$cpu_ratio")× by CPU |
| Probe of a $(( big / 1000 / 1000 )) MB MP4 (moov at end), bytes read through the byte-counting reader (64 KiB blocks, = ranged GETs) | $probe_bytes B ($(f2 "$(calc "$probe_bytes / 1048576")") MiB) | — | — |
| Same probe over loopback HTTP with Range, bytes the server sent | ours via FFmpeg http (\`.url\`): $url_sent B | ffprobe: $ffprobe_sent B | $(f2 "$(calc "$url_sent / $ffprobe_sent")")× |
| Stills per CPU-second (1 thread): 1920×1080 JPEG, EXIF + decode + time + motion-v1 + filter ($stills files) | $(f1 "$stills_ours") ($(f2 "$sc") s CPU, $(f2 "$so") s wall) | ffmpeg decode (\`-lowres 2\`) + scale to 320 px gray only, no EXIF/detection: $(f1 "$stills_theirs") ($(f2 "$pc") s CPU) | $(f2 "$(calc "$stills_ours / $stills_theirs")")× |

Method: release build; each timed figure is the median of 5 runs of whole processes (start-up included; CPU = user + sys of all threads, less disturbed than wall time by other load on the shared cores) on $(nproc) shared cores, measured in this run; media generated by the ffmpeg CLI (testsrc2). Both sides decode with FFmpeg's default threading and convert only the sampled frames; ours also tells the decoder to skip non-reference frames that fall between sampling targets, and decodes JPEG stills at reduced resolution (lowres 2 for 1920 px, the same as the peer's \`-lowres 2\`) when only the 320 px analysis picture is needed. HTTP counts include what sat in socket buffers when the client closed (what S3 would bill as transfer), which is why the ranged reader, whose requests are bounded, reads less.
MD
