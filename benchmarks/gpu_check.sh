#!/usr/bin/env bash
# GPU readiness of the learned backends, run as is on a machine with a CUDA GPU (from the repository root):
#   bash benchmarks/gpu_check.sh [KIND=DIR ...]      e.g. depth=/models/depth-anything-v2-small
#                                                     hunyuan3d=/models/Hunyuan3D-2 (its hunyuan3d-dit-v2-0 is used)
# 1. the learned tests on cuda (MESHSMITH_TEST_DEVICE=cuda: tiny random-weight models, real server);
# 2. per-backend latency and peak GPU memory with the tiny models (benchmarks/learned.py --device cuda;
#    depth, caption, segment, shap-e and hunyuan3d);
# 3. the same with real weights for each KIND=DIR given (or $MESHSMITH_GPU_MODELS, space-separated), then
#    issue 10's single-view shape benchmark with those that make a shape (benchmarks/shape.py --model, depth,
#    shap-e, hunyuan3d: rows "model KIND" beside the classical path, the ellipsoid and the perfect-depth bound).
# Results: benchmarks/out/gpu-*.json and the log on stdout. Exit 0 only when every step passed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export HF_HUB_OFFLINE=1 MESHSMITH_TEST_DEVICE=cuda
# CUDA reserves far more virtual address space than the workers' default RLIMIT_AS cap (6 GiB) allows:
# the servers the tests start run their workers uncapped here (GPU memory is bounded by the card instead).
export MESHSMITH_WORKER_MEMORY_MB=0
mkdir -p benchmarks/out
status=0

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi not found"
"$PY" - <<'PY' || { echo "torch sees no CUDA device: this torch build is $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null). The learned extra pins torch 2.14.1 + torchvision 0.29.1 as PyPI serves them (CUDA 13.0 builds): reinstall them (make install) or check the NVIDIA driver supports CUDA 13, then run again."; exit 2; }
import sys, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "devices", torch.cuda.device_count())
sys.exit(0 if torch.cuda.is_available() else 1)
PY

echo "== 1. learned tests on cuda"
"$PY" -m pytest -q -p no:cacheprovider tests/reconstruct/test_learned.py tests/server/test_backends.py \
  tests/server/test_gpu_pool.py || status=1

"$PY" -c 'import hy3dgen.shapegen' 2>/dev/null || echo "hy3dgen missing (backend hunyuan3d): pip install --no-deps hy3dgen==2.0.2 (make install does)"

echo "== 2. tiny models on cuda: latency and peak GPU memory"
"$PY" benchmarks/learned.py --device cuda --repeat 10 --json benchmarks/out/gpu-tiny.json || status=1

echo "== 3. real weights"
models=("$@")
[ ${#models[@]} -eq 0 ] && [ -n "${MESHSMITH_GPU_MODELS:-}" ] && read -ra models <<< "$MESHSMITH_GPU_MODELS"
if [ ${#models[@]} -eq 0 ]; then
  echo "no real weights given (pass KIND=DIR or set MESHSMITH_GPU_MODELS): skipped"
else
  shape=()
  for m in "${models[@]}"; do
    kind=${m%%=*}
    "$PY" benchmarks/learned.py --device cuda --repeat 10 --model "$m" --json "benchmarks/out/gpu-$kind-real.json" || status=1
    case "$kind" in depth|shap-e|hunyuan3d) shape+=(--model "$m") ;; esac
  done
  if [ ${#shape[@]} -gt 0 ]; then
    echo "== 4. single-view shape with the real models (benchmarks/results/shape.md)"
    "$PY" benchmarks/shape.py --modes auto --device cuda "${shape[@]}" || status=1
  fi
fi
echo "== gpu_check: $([ $status = 0 ] && echo PASSED || echo FAILED)"
exit $status
