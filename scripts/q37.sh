#!/usr/bin/env bash
# Q3.7: dnn_cnn.py -> outputs/CNN_lr0.01_m0.0_w0.0_d0.5.json
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh
exec "$PYTHON" -m harness.run_driver dnn_cnn.py "$@"
