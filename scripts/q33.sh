#!/usr/bin/env bash
# Q3.3: dnn_mlp.py -> outputs/MLP_lr0.01_m0.0_w0.0_d0.0.json
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh
exec "$PYTHON" -m harness.run_driver dnn_mlp.py "$@"
