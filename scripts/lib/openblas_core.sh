# Sourced by the benchmark scripts: the OpenBLAS core type that runs the
# PyTorch/NumPy references at their best on this machine.
#
# OpenBLAS picks its kernels from the CPU it detects, and on virtual CPUs
# with a generic model name it can fall back to old SSE3 ("Prescott")
# kernels at a quarter of the machine's speed. pick_openblas_core times the
# best of 5 float32 2048² products through NumPy's OpenBLAS on every core
# with OpenBLAS's own choice and with each core type that could fit, and
# exports the fastest (when it beats OpenBLAS's own by 5%) as
# OPENBLAS_CORETYPE; it sets openblas_core (empty: OpenBLAS's own choice)
# and openblas_gflops, and says each rate on stderr. $py is the Python.

# openblas_sgemm prints the GFLOP/s of the product with core type $1 ("":
# OpenBLAS's own choice).
openblas_sgemm() {
  env ${1:+OPENBLAS_CORETYPE=$1} OPENBLAS_NUM_THREADS=$(nproc) "$py" - <<'PY'
import time
import numpy as np
n = 2048
a = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(2).standard_normal((n, n), dtype=np.float32)
a @ b
times = []
for _ in range(5):
    t0 = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - t0)
print(f"{2 * n**3 / min(times) / 1e9:.1f}")
PY
}

pick_openblas_core() {
  local core rate
  openblas_core="" openblas_gflops=$(openblas_sgemm "" 2>/dev/null)
  echo "OpenBLAS SGEMM with its own core choice: $openblas_gflops GFLOP/s" >&2
  for core in Haswell Zen SkylakeX Cooperlake SapphireRapids; do
    rate=$(openblas_sgemm "$core" 2>/dev/null) || rate=0 # a core type this CPU cannot run
    echo "OpenBLAS SGEMM with OPENBLAS_CORETYPE=$core: $rate GFLOP/s" >&2
    if "$py" -c "import sys; sys.exit(not float(sys.argv[1]) > 1.05 * float(sys.argv[2]))" "$rate" "$openblas_gflops"; then
      openblas_core=$core openblas_gflops=$rate
    fi
  done
  if [ -n "$openblas_core" ]; then
    export OPENBLAS_CORETYPE=$openblas_core
  fi
}
