#!/usr/bin/env bash
# The CUDA path of the genn device, on a machine with an NVIDIA GPU and CUDA (nvcc, nvidia-smi):
#   1. builds .venv-genn if it is missing (make genn-env; GENN_SRC / GENN_PATH as usual),
#   2. runs a small recurrent LIF network on GeNN's CUDA backend and checks it against the
#      float64 kernel (identical spikes, states within 1e-9), and the GeNN tests,
#   3. runs benchmarks/bench_backends.py with GeNN CPU-only and CUDA (and Brian2CUDA where
#      installed) next to the kernel, Brian2 runtime and C++ standalone.
# Usage: bash scripts/gpu_check.sh [OUT]   (default OUT: runs/gpu_check)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/gpu_check}
mkdir -p "$OUT"
command -v nvidia-smi >/dev/null && nvidia-smi -L || { echo "gpu_check: no nvidia-smi, no GPU here" >&2; exit 2; }
export CUDA_PATH=${CUDA_PATH:-/usr/local/cuda}
[ -x .venv-genn/bin/python ] || make genn-env
PY=.venv-genn/bin/python
export OPENBLAS_NUM_THREADS=1 NEURORL_GENN_GPU=1
$PY - <<'PY' 2>&1 | tee "$OUT/equality.txt"
import sys
import numpy as np
sys.path.insert(0, "tests")
from conftest import single_layer_net
from neurorl.sim import genn
from neurorl.sim.batch import run_batch
assert genn.cuda_available(), "no CUDA GPU found"
rng = np.random.default_rng(0)
for name in ("lif", "grsn"):
    net = single_layer_net(name, hidden=64, seed=2, recurrent=name == "lif").with_schedule("genn")
    x = rng.uniform(0, 1.5, size=(50, 32, 3))
    got, want = run_batch(net, x, device="genn"), run_batch(net, x, device="kernel")
    same = all((got.spikes[k] == want.spikes[k]).all() for k in want.spikes)
    err = max(float(np.abs(got.state(la, v) - w).max())
              for la, d in want.states.items() for v, w in d.items())
    print(f"GeNN CUDA vs kernel, {name}: spikes identical {same}, max state difference {err:.2e}")
    assert same and err <= 1e-9
PY
NEURORL_GENN_GPU= $PY -m pytest -q -p no:cacheprovider tests/test_genn.py -k genn | tee "$OUT/tests.txt"
NEURORL_GENN_GPU= $PY benchmarks/bench_backends.py --out "$OUT" | tee "$OUT/bench.txt"
echo "gpu_check: results in $OUT"
