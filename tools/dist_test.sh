#!/usr/bin/env bash
# Test a checkpoint with N processes via torchrun (see dist_train.sh for GPUs,
# CPU / gloo, PORT, NNODES, NODE_RANK, MASTER_ADDR and PYTHON).
#
#   bash tools/dist_test.sh CONFIG CHECKPOINT N [test.py options]
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash $0 CONFIG CHECKPOINT N [test.py options]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
TOOLS=$(dirname "$0")
if [ "$NNODES" = 1 ] && [ -z "${PORT:-}" ]; then
    RDZV=(--standalone)
else
    RDZV=(--nnodes="$NNODES" --node_rank="$NODE_RANK"
          --master_addr="$MASTER_ADDR" --master_port="${PORT:-29500}")
fi
exec "$PYTHON" -m torch.distributed.run "${RDZV[@]}" \
    --nproc_per_node="$NPROC" \
    "$TOOLS/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
