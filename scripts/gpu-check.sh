#!/usr/bin/env bash
# GPU check of the trainer on a lent CUDA machine (an H200 with PyTorch 2.11, no internet, no
# model hub). It builds the trainer with the `cuda` feature against the machine's own torch
# install, runs 50 bf16 QLoRA steps on a randomly initialised Llama-3.2-3B-shaped model (a fair
# speed test: the cost of a step does not depend on the weights' values), then the same shapes
# in plain PyTorch (scripts/gpu_reference_lora.py), and prints both results and their ratio.
#
#   scripts/gpu-check.sh [SEQ] [BATCH] [STEPS]        (defaults 1024 4 50)
#
# Peak memory: the Rust side reports the GPU's peak used memory sampled by nvidia-smi every
# 100 ms (libtorch's allocator statistics are not exposed through tch), the Python side
# torch.cuda.max_memory_allocated (allocator view, always lower than nvidia-smi's).
set -euo pipefail
cd "$(dirname "$0")/.."
SEQ=${1:-1024}
BATCH=${2:-4}
STEPS=${3:-50}
PY=${PYTHON:-python3}

TORCH_DIR=$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
"$PY" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device visible"; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
export LIBTORCH="$TORCH_DIR" LIBTORCH_CXX11_ABI=1
export LD_LIBRARY_PATH="$TORCH_DIR/lib:${LD_LIBRARY_PATH:-}"
# torch's CUDA wheels put their runtime libraries under site-packages/nvidia/*/lib.
for d in "$TORCH_DIR"/../nvidia/*/lib; do [ -d "$d" ] && LD_LIBRARY_PATH="$d:$LD_LIBRARY_PATH"; done

cargo build --release -p trainer --features cuda --example speed

PEAK_FILE=$(mktemp)
( peak=0; while sleep 0.1; do
    used=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 | head -1)
    [ "$used" -gt "$peak" ] && peak=$used && echo "$peak" > "$PEAK_FILE"
  done ) &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null || true' EXIT
RUST=$(target/release/examples/speed --random llama-3.2-3b --seq "$SEQ" --batch "$BATCH" --steps "$STEPS" --warmup 3)
kill $SAMPLER 2>/dev/null || true
echo "rust:    $RUST (nvidia-smi peak $(cat "$PEAK_FILE") MiB)"
case "$RUST" in *Cuda*) ;; *) echo "the trainer did not run on CUDA; check LD_LIBRARY_PATH and the cuda feature" >&2; exit 1;; esac

REF=$("$PY" scripts/gpu_reference_lora.py --seq "$SEQ" --batch "$BATCH" --steps "$STEPS")
echo "pytorch: $REF"
"$PY" - "$RUST" "$REF" <<'PYEOF'
import json, sys
r, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"tokens/s rust {r['tokens_per_second']:.0f} vs pytorch {p['tokens_per_second']:.0f}: ratio {r['tokens_per_second'] / p['tokens_per_second']:.2f}")
PYEOF
