#!/usr/bin/env bash
# Model benchmarks of issue #5: this project (Go) against PyTorch 1.13 eager
# (Debian's python3-torch) and ONNX Runtime's CPU build (onnxruntime-node),
# the three sides run interleaved, cell by cell, round after round; the
# table takes the median over rounds of each run's median time.
#
#   bench/models/run.sh                 # everything (about 30-40 min on 2 cores)
#   QUICK=1 bench/models/run.sh         # batch-1 s0 rows and the 32x32 training rows only
#   ROUNDS=5 ARCHS="s0 s1" bench/models/run.sh
#
# Environment knobs: ROUNDS (default 3), ARCHS (default "s0 s1 s2 s3 s4"),
# THREADS (default "1 2"), TRAIN224 (default 1: time the batch-32 224x224
# training step, the slowest row), TORCH_BLAS (openblas|reference, default
# openblas when libopenblas0-pthread is installed), DEPLOY_PTH_DIR (a
# folder with s0_deploy.pth ... written by `mobileone reparameterize`: both
# sides then load those weights; default random weights), OUT (work folder,
# default $TMPDIR/mobileone-bench), GO_BEFORE (a second checkout of the
# project, e.g. the previous commit: its binaries run as a fourth side,
# "go-before", for before/after figures), GO_AVX2 (default 1 on a CPU with
# AVX-512F: the same Go binary run again with GODEBUG=cpu.avx512f=off as a
# side "go-avx2", the kernels an AVX2-only machine runs), PIN_CPU (default
# 0: the one-thread runs of every side are pinned to this CPU with taskset;
# empty to let the scheduler place them). Results:
# $OUT/results.jsonl and the table on stdout (also $OUT/table.md), headed by
# the CPU model and its SIMD flags.
set -euo pipefail
{ # the whole script is parsed before it runs: editing it mid-run is harmless

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-${TMPDIR:-/tmp}/mobileone-bench}
ROUNDS=${ROUNDS:-3}
ARCHS=${ARCHS:-"s0 s1 s2 s3 s4"}
THREADS=${THREADS:-"1 2"}
TRAIN224=${TRAIN224:-1}
PY=${PY:-/usr/bin/python3}
OPENBLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-pthread
if [[ -z "${TORCH_BLAS:-}" ]]; then
  if [[ -e $OPENBLAS_DIR/libblas.so.3 ]]; then TORCH_BLAS=openblas; else TORCH_BLAS=reference; fi
fi
if [[ -n "${QUICK:-}" ]]; then
  ARCHS=s0; ROUNDS=${ROUNDS_QUICK:-2}; TRAIN224=0
fi
GO_AVX2=${GO_AVX2:-$(grep -qw avx512f /proc/cpuinfo && echo 1 || echo 0)}
# The two vCPUs of a cloud machine need not be equally fast: on the Zen 5
# machine of 2026-12-03 one ran s0 at 2.9 ms and the other at 3.3-3.9 ms
# (for ORT and for us), the slow one changing from minute to minute with
# the neighbours' load. Unpinned, each one-thread run lands on either, and
# ORT's "two phases" of earlier rounds were that. Pinned, both sides of a
# one-thread cell run on the same CPU.
PIN_CPU=${PIN_CPU-0}
if [[ -n $PIN_CPU ]] && ! command -v taskset >/dev/null; then PIN_CPU=""; fi
if [[ -n $PIN_CPU ]] && ! taskset -c "$PIN_CPU" true 2>/dev/null; then
  echo "PIN_CPU=$PIN_CPU: not a CPU this process may run on (online: $(cat /sys/devices/system/cpu/online 2>/dev/null)); set PIN_CPU to one of them, or empty to not pin" >&2
  exit 2
fi
mkdir -p "$OUT"
RES=$OUT/results.jsonl
: > "$RES"

log() { echo "[bench] $*" >&2; }

# --- prerequisites -----------------------------------------------------------
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "PyTorch missing: apt-get install -y python3-torch (and libopenblas0-pthread for an optimized BLAS)" >&2
  exit 1
fi
if [[ ! -d $HERE/node_modules/onnxruntime-node ]]; then
  log "installing onnxruntime-node (npm ci)"
  # the CPU build ships in the package; skip its post-install CUDA download
  (cd "$HERE" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2)
fi
log "building the Go side"
(cd "$ROOT" && go build -o "$OUT/mobileone" ./cmd/mobileone && go build -o "$OUT/gotrain" ./bench/models/gotrain)
if [[ -n "${GO_BEFORE:-}" ]]; then
  log "building the go-before side from $GO_BEFORE"
  mkdir -p "$OUT/before"
  (cd "$GO_BEFORE" && go build -o "$OUT/before/mobileone" ./cmd/mobileone)
  if [[ -d $GO_BEFORE/bench/models/gotrain ]]; then
    (cd "$GO_BEFORE" && go build -o "$OUT/before/gotrain" ./bench/models/gotrain)
  else # build this gotrain against the other checkout's packages
    mkdir -p "$GO_BEFORE/_gotrain_tmp" && cp "$HERE/gotrain/main.go" "$GO_BEFORE/_gotrain_tmp/"
    (cd "$GO_BEFORE" && go build -o "$OUT/before/gotrain" ./_gotrain_tmp) || log "go-before: no training step in that checkout"
    rm -rf "$GO_BEFORE/_gotrain_tmp"
  fi
fi

torch_env() { # threads
  local e=(OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$1 MKL_NUM_THREADS=$1)
  if [[ $TORCH_BLAS == openblas ]]; then e+=(LD_LIBRARY_PATH=$OPENBLAS_DIR); fi
  echo "${e[@]}"
}

ckpt_args() { # arch flag
  if [[ -n "${DEPLOY_PTH_DIR:-}" && -f $DEPLOY_PTH_DIR/$1_deploy.pth ]]; then
    echo "$2 $DEPLOY_PTH_DIR/$1_deploy.pth"
  fi
}

# --- ONNX export ----------------------------------------------------------------
for a in $ARCHS; do
  f=$OUT/${a}_deploy.onnx
  if [[ ! -s $f || -n "${DEPLOY_PTH_DIR:-}" ]]; then
    log "exporting $a to ONNX"
    # shellcheck disable=SC2046
    "$PY" "$HERE/torch_models.py" export --arch "$a" --out "$f" $(ckpt_args "$a" --checkpoint) >/dev/null
  fi
done

# --- one measurement ---------------------------------------------------------------
# run SIDE KIND ARCH BATCH SIZE THREADS ITERS
run() {
  local side=$1 kind=$2 arch=$3 batch=$4 size=$5 th=$6 iters=$7 line
  local cfg=$ROOT/configs/mobileone/deploy/mobileone-${arch}_deploy_8xb32_in1k.py
  local bin=$OUT godebug=${GODEBUG:-}
  if [[ $side == go-before ]]; then bin=$OUT/before; fi
  if [[ $side == go-avx2 ]]; then godebug=cpu.avx512f=off; fi
  local base=${side%-before} pin=()
  if [[ $th == 1 && -n $PIN_CPU ]]; then pin=(taskset -c "$PIN_CPU"); fi
  case ${base%-avx2}/$kind in
    go/infer)
      # The report is parsed after the run, not through a pipe: python's
      # start-up (~0.1 s of CPU) would share the cores with the first
      # iterations and put s0's first 40 at 3.7 ms instead of 2.9.
      # shellcheck disable=SC2046
      line=$(GODEBUG=$godebug "${pin[@]}" "$bin/mobileone" benchmark "$cfg" --batch-size "$batch" --shape "$size" --threads "$th" \
        --iters "$iters" --warmup 2 --json $(ckpt_args "$arch" --checkpoint) 2>/dev/null)
      line=$(echo "$line" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps(dict(side=sys.argv[2],kind="infer",arch=sys.argv[1],batch=r["batch_size"],size=r["shape"][0],threads=r["threads"],median_ms=r["median_ms"],min_ms=r["min_ms"],images_per_s=r["images_per_s"],iters=r["iters"])))' "$arch" "$side") ;;
    go/train)
      line=$(GODEBUG=$godebug "${pin[@]}" "$bin/gotrain" -arch "$arch" -batch "$batch" -size "$size" -threads "$th" -iters "$iters" -warmup 1) ;;
    torch/infer)
      # shellcheck disable=SC2046
      line=$(env $(torch_env "$th") "${pin[@]}" "$PY" "$HERE/torch_models.py" infer --arch "$arch" --batch "$batch" --size "$size" \
        --threads "$th" --iters "$iters" --warmup 2 $(ckpt_args "$arch" --checkpoint)) ;;
    torch/train)
      # shellcheck disable=SC2046
      line=$(env $(torch_env "$th") "${pin[@]}" "$PY" "$HERE/torch_models.py" train --arch "$arch" --batch "$batch" --size "$size" \
        --threads "$th" --iters "$iters" --warmup 1 --budget 60) ;;
    ort/infer)
      line=$(cd "$HERE" && "${pin[@]}" node ort_models.js --model "$OUT/${arch}_deploy.onnx" --arch "$arch" --batch "$batch" \
        --size "$size" --threads "$th" --iters "$iters" --warmup 3) ;;
  esac
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "$line" | "$PY" -c 'import json,sys; r=json.loads(sys.stdin.read()); r["side"]=sys.argv[4]; r["round"]=int(sys.argv[1]); r["load"]=float(sys.argv[2]); r["blas"]=sys.argv[3] if r["side"]=="torch" else ""; print(json.dumps(r))' "$ROUND" "$load" "$TORCH_BLAS" "$side" >> "$RES"
  log "round $ROUND $side $kind $arch b$batch ${size}px t$th: $(echo "$line" | "$PY" -c 'import json,sys; r=json.loads(sys.stdin.read()); print("%.2f ms median, %.2f ms min" % (r["median_ms"], r["min_ms"]))') (load $load)"
}

# --- the cells -----------------------------------------------------------------------
# kind arch batch size threads iters sides
cells=()
for th in $THREADS; do
  for a in $ARCHS; do cells+=("infer $a 1 224 $th 100 go,torch,ort"); done
  if [[ " $ARCHS " == *" s0 "* ]]; then
    cells+=("infer s0 32 224 $th 5 go,torch,ort")
    cells+=("train s0 64 32 $th 5 go,torch")
  fi
done
if [[ $TRAIN224 == 1 && " $ARCHS " == *" s0 "* ]]; then
  cells+=("train s0 32 224 2 3 go,torch")
fi

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
  for cell in "${cells[@]}"; do
    read -r kind arch batch size th iters sides <<<"$cell"
    if [[ $kind == train && $size == 224 && $ROUND -gt 1 ]]; then continue; fi # one round: minutes per step
    if [[ -n "${GO_BEFORE:-}" ]]; then sides+=,go-before; fi
    if [[ $GO_AVX2 == 1 ]]; then sides+=,go-avx2; fi
    IFS=, read -r -a order <<<"$sides"
    # rotate the side order every round
    n=${#order[@]}
    for ((i = 0; i < n; i++)); do
      side=${order[$(((i + ROUND) % n))]}
      run "$side" "$kind" "$arch" "$batch" "$size" "$th" "$iters" || log "FAILED: $side $cell"
    done
  done
done

CPU_MODEL=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
CPU_FLAGS=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma|f16c)' | tr '\n' ' ')
CPU_MODEL=$CPU_MODEL CPU_FLAGS=$CPU_FLAGS CPU_FAMILY=$(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') \
  CPU_COUNT=$(nproc) "$PY" "$HERE/table.py" "$RES" | tee "$OUT/table.md"
exit
}
