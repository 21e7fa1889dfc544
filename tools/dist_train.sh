#!/usr/bin/env bash
# Train with N processes on one machine (or several machines) via torchrun.
#
#   bash tools/dist_train.sh CONFIG N [train.py options]
#
# With GPUs: one process per GPU, NCCL (or env_cfg.dist_cfg.backend).
# Without CUDA: N CPU processes joined with gloo (tools/train.py sets this up
# because mmengine's launcher needs CUDA); use N <= the number of cores.
# Single machine: torchrun picks a free rendezvous port unless PORT is set.
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR and PORT on each.
# PYTHON selects the interpreter (default: python).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: bash $0 CONFIG N [train.py options]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
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
    "$TOOLS/train.py" "$CONFIG" --launcher pytorch "${@:3}"
