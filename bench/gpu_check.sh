#!/usr/bin/env bash
# One prepared script for a lent GPU machine: every check and timing that needs CUDA.
# Usage on the device machine (from the repository root, with the tensorly wheel carried in .whl/):
#   bash bench/gpu_check.sh            # writes logs into $OUT (or ./bench/out)
set -uo pipefail
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl 2>/dev/null
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0))"
} 2>&1 | tee "$OUT/gpu_env.txt"
for script in bench/gpu_connectome.py bench/gpu_hmmglm.py bench/gpu_neuroformer.py; do
  [ -f "$script" ] || { echo "skip $script (missing)"; continue; }
  name=$(basename "$script" .py)
  echo "=== $script" | tee "$OUT/$name.txt"
  timeout 240 python3 "$script" 2>&1 | tee -a "$OUT/$name.txt"
done
# the command-line path on CUDA, end to end, on the bundled samples
for spec in "connectome sample_data/connectome_motifs.nwb" "hmmglm sample_data/hmmglm_states.nwb --set n_states=5 --set epochs=5" "neuroformer sample_data/spikes_trials.nwb --set preset=tiny --set steps=50"; do
  set -- $spec
  name=$1
  echo "=== neurotools run $spec --device cuda" | tee -a "$OUT/gpu_cli.txt"
  ( time timeout 150 python3 -m neurotools run "$@" --device cuda --out "/tmp/gpu_$name" ) 2>&1 | tail -4 | tee -a "$OUT/gpu_cli.txt"
  python3 -c "import json,sys; m=json.load(open('/tmp/gpu_$name/result.json')); print(m['analysis'], m['device'], round(m['runtime_s'],2), 's', {k: v for k, v in m['metrics'].items() if isinstance(v, (int, float))})" 2>&1 | tail -1 | tee -a "$OUT/gpu_cli.txt"
done
