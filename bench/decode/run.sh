#!/usr/bin/env bash
# JPEG decoding: this project's decoder (pkg/imagenet/jpeg, full BGR output,
# the same bytes as OpenCV) against libjpeg-turbo itself, the decoder OpenCV
# runs, through its tjbench (Debian's libjpeg-turbo-progs: accurate ISLOW
# IDCT, fancy upsampling, BGR output -- the same work), one core each,
# file by file, the two sides interleaved round after round; the table
# takes each side's best round per file (the machine is shared and noisy).
#
#   bench/decode/run.sh                     # the serve benchmark's photos
#   FILES="a.jpg b.jpg" ROUNDS=5 bench/decode/run.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/fixtures/inputs/images}
FILES=${FILES:-"$SHARED/skimage_rocket.jpg $SHARED/sklearn_china.jpg $SHARED/gomod_go-turns-two-280x360.jpeg"}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-${TMPDIR:-/tmp}/mobileone-bench-decode}
if ! command -v tjbench >/dev/null; then
  echo "tjbench missing: apt-get install -y libjpeg-turbo-progs" >&2
  exit 1
fi
for f in $FILES; do
  if [[ ! -f $f ]]; then
    echo "bench-decode: $f: no such file (FILES names the JPEGs to time; the default ones are in ../shared/fixtures)" >&2
    exit 1
  fi
done
mkdir -p "$OUT"
(cd "$ROOT" && go test -c -o "$OUT/jpeg.test" ./pkg/imagenet/jpeg/)
declare -A GO TJ
for ((r = 1; r <= ROUNDS; r++)); do
  for f in $FILES; do
    name=$(basename "$f")
    cp "$f" "$OUT/in.jpg"
    # tjbench prints the decompression frame rate; ms per image = 1000/fps.
    fps=$(taskset -c 0 tjbench "$OUT/in.jpg" -accuratedct -benchtime 1 -warmup 0.3 -nowrite | awk '/Frame rate/ {v=$(NF-1)} END {print v}')
    tj=$(awk -v f="$fps" 'BEGIN {printf "%.3f", 1000 / f}')
    ns=$(cd "$OUT" && JPEG_BENCH_FILE="$f" taskset -c 0 ./jpeg.test -test.run '^$' -test.bench '^BenchmarkDecodeFile$' -test.benchtime 1s -test.cpu 1 | awk '/^BenchmarkDecodeFile/ {print $3}')
    go=$(awk -v n="$ns" 'BEGIN {printf "%.3f", n / 1e6}')
    echo "round $r $name: go $go ms, libjpeg-turbo $tj ms" >&2
    if [[ -z ${GO[$name]:-} ]] || awk -v a="$go" -v b="${GO[$name]}" 'BEGIN {exit !(a < b)}'; then GO[$name]=$go; fi
    if [[ -z ${TJ[$name]:-} ]] || awk -v a="$tj" -v b="${TJ[$name]}" 'BEGIN {exit !(a < b)}'; then TJ[$name]=$tj; fi
  done
done
cpu() { grep -m1 "^$1" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'; }
echo "CPU: $(cpu 'model name') (family $(cpu 'cpu family') model $(cpu 'model\s')), libjpeg-turbo $(dpkg-query -W -f '${Version}' libjpeg-turbo-progs 2>/dev/null || echo '?'); best of $ROUNDS rounds, one core"
echo
echo "| file | Go ms | libjpeg-turbo ms | Go / libjpeg-turbo time |"
echo "|---|---|---|---|"
for f in $FILES; do
  name=$(basename "$f")
  awk -v n="$name" -v g="${GO[$name]}" -v t="${TJ[$name]}" 'BEGIN {printf "| %s | %.2f | %.2f | %.2f |\n", n, g, t, g / t}'
done
