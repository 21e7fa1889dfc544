#!/usr/bin/env bash
# End-to-end demo on CPU: make the synthetic long-tailed data (if absent),
# train the config, then evaluate its last checkpoint on the test split and
# print the overall / head / medium / tail mAP table.
#
# Usage: bash tools/demo.sh [CONFIG] [extra tools/train.py options]
#   CONFIG defaults to configs/meid_synthetic.py (MEID, both stages).
set -euo pipefail
CONFIG=${1:-configs/meid_synthetic.py}
shift || true
TOOLS=$(dirname "$0")
DATA=${DATA:-data/synthetic_lt}
NAME=$(basename "$CONFIG" .py)
WORK_DIR=${WORK_DIR:-work_dirs/$NAME}

if [ ! -f "$DATA/meta.json" ]; then
    python "$TOOLS/data/generate_synthetic.py" "$DATA"
fi
python "$TOOLS/train.py" "$CONFIG" --work-dir "$WORK_DIR" "$@"
python "$TOOLS/test.py" "$CONFIG" last --work-dir "$WORK_DIR"
