#!/usr/bin/env bash
# GPU readiness in one command: on a machine with CUDA, time the training
# step at VideoLT shape (MEID, MEID + NetVLAD, the nonlinear head; float32,
# bf16 and fp16 autocast; peak memory; the feature bank against a raw
# on-device gather; the projected two-stage run), LongTailMAP on GPU vs CPU,
# the CUDA-marked tests, short --amp trainings through tools/train.py with
# the feature bank on the GPU, a 2-process NCCL training (if >= 2 GPUs) and,
# optionally, the input benchmark; write every figure to OUT_DIR/gpu_check.md
# (logs and JSON beside it).
#
# Usage: bash tools/benchmark/gpu_check.sh [OUT_DIR]
#   OUT_DIR defaults to work_dirs/gpu_check. Environment:
#   PYTHON         interpreter (default: python3)
#   BUDGET_S       seconds for the whole check (default 3600); each step is
#                  cut at what is left, the most important figures first,
#                  so a short budget loses the last steps, not the first
#   INPUT_BENCH=1  also run bench_data_pipeline.py (BENCH_VIDEOS videos of
#                  [200, 2048] written to disk, default 2000: ~5 GB, minutes)
# Exit status: 0 if every check passed, 1 if one failed or was cut, 2
# without CUDA.
set -uo pipefail
OUT=${1:-work_dirs/gpu_check}
PY=${PYTHON:-python3}
TOOLS=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(dirname "$TOOLS")
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
REPORT="$OUT/gpu_check.md"
FAILED=0
DEADLINE=$((SECONDS + ${BUDGET_S:-3600}))

if ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'
then
    echo "gpu_check: no CUDA device visible to torch; nothing to check" >&2
    exit 2
fi
NGPU=$("$PY" -c 'import torch; print(torch.cuda.device_count())')

section() { printf '\n## %s\n\n' "$1" >> "$REPORT"; }
# run NAME LIMIT CMD...: at most LIMIT s (and what is left of BUDGET_S),
# log to OUT/NAME.log, record pass / fail / cut and the wall time
run() {
    local name=$1 limit=$2; shift 2
    local left=$((DEADLINE - SECONDS)) t0=$SECONDS rc
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -le 5 ]; then
        printf -- '- `%s`: **NOT RUN** (BUDGET_S spent)\n' "$*" >> "$REPORT"
        FAILED=1
        return 1
    fi
    timeout --signal=INT --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    case $rc in
        0) status=PASS ;;
        124|137) status="CUT after $limit s"; FAILED=1 ;;
        *) status="FAIL (exit $rc)"; FAILED=1 ;;
    esac
    printf -- '- `%s`: **%s** in %d s (log: %s.log)\n' "$*" "$status" \
        $((SECONDS - t0)) "$name" >> "$REPORT"
    return $rc
}
# the lines of a bench_step log that hold figures
step_figures() {
    grep -E '^\||^stage|conversions|projected|bank batch|peak|Error' "$1"
}

{
    echo "# GPU check"
    echo
    echo "- date: $(date -u +%FT%TZ)"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo n/a)"
    echo "- GPUs ($NGPU):"
    nvidia-smi --query-gpu=name,memory.total,driver_version \
        --format=csv,noheader 2>/dev/null | sed 's/^/  - /'
    "$PY" -c 'import platform, torch, mmengine, mmaction; print(
        f"- python {platform.python_version()}, torch {torch.__version__} "
        f"(CUDA {torch.version.cuda}), mmengine {mmengine.__version__}, "
        f"mmaction2 {mmaction.__version__}")'
    echo "- CPU cores: $(nproc)"
} > "$REPORT"

STEP=(tools/benchmark/bench_step.py --device cuda --amp none bf16 fp16
      --repeats 20 --warmup 5 --threads 8)
section "Training step at VideoLT shape (bench_step.py, B 128, N 60, D 2048, C 1004)"
echo "MEIDHead with weighted-mean pooling (the paper's CharadesLT model):" \
    >> "$REPORT"
run step_meid 150 "$PY" "${STEP[@]}" --config configs/meid_videolt_r101.py \
    --cfg-options model.cls_head.aggregator=None --profile \
    --json "$OUT/step_meid.json"
step_figures "$OUT/step_meid.log" >> "$REPORT"
printf '\nMEID + NetVLAD (configs/meid_videolt_r101.py as shipped), feature' \
    >> "$REPORT"
printf ' bank and projected run (200 epochs = 2 x 100, 179,334 videos):\n' \
    >> "$REPORT"
run step_meid_netvlad 150 "$PY" "${STEP[@]}" \
    --config configs/meid_videolt_r101.py --bank-gather \
    --project-videos 179334 --project-epochs 100 \
    --json "$OUT/step_meid_netvlad.json"
step_figures "$OUT/step_meid_netvlad.log" >> "$REPORT"
printf '\nNonlinear head (configs/baselines/bce_nonlinear_videolt_r101.py):\n' \
    >> "$REPORT"
run step_nonlinear 120 "$PY" "${STEP[@]}" \
    --config configs/baselines/bce_nonlinear_videolt_r101.py \
    --json "$OUT/step_nonlinear.json"
step_figures "$OUT/step_nonlinear.log" >> "$REPORT"

section "LongTailMAP, 25,000 videos x 1,004 classes, GPU vs CPU"
run ltmap 120 "$PY" tools/benchmark/bench_long_tail_map.py \
    --num-videos 25000 --metric-devices cuda cpu --skip-references
grep -E '^implementation|^meid|^LongTailMAP|^max|^problem|^machine' \
    "$OUT/ltmap.log" >> "$REPORT"

section "CUDA-marked tests (pytest -m cuda)"
XDIST=()
if "$PY" -c 'import xdist' 2>/dev/null; then XDIST=(-n 8); fi
run cuda_tests 420 "$PY" -m pytest -m cuda -q -rfEs -p no:cacheprovider \
    "${XDIST[@]}"
grep -E '(passed|failed|FAILED|ERROR|SKIPPED)' "$OUT/cuda_tests.log" \
    | tail -40 | sed 's/^/    /' >> "$REPORT"

section "Training through tools/train.py: --amp, feature bank on the GPU"
DATA="$OUT/synthetic_lt"
if [ ! -f "$DATA/meta.json" ]; then
    "$PY" tools/data/generate_synthetic.py "$DATA" > "$OUT/gen.log" 2>&1
fi
BANK_OPTS=(
    "data_root=$DATA"
    train_dataloader.num_workers=0 val_dataloader.num_workers=0
    test_dataloader.num_workers=0
    train_dataloader.persistent_workers=False
    val_dataloader.persistent_workers=False
    test_dataloader.persistent_workers=False
    train_dataloader.dataset.feature_bank.device=cuda
    train_dataloader.dataset.feature_bank.dtype=float16
    val_dataloader.dataset.feature_bank.device=cuda
    val_dataloader.dataset.feature_bank.dtype=float16
)
for cfg in configs/meid_synthetic.py configs/nonlinear_synthetic.py; do
    name=$(basename "$cfg" .py)
    run "train_amp_bank_$name" 240 "$PY" tools/train.py "$cfg" --amp \
        --work-dir "$OUT/$name" --cfg-options "${BANK_OPTS[@]}"
    grep -E 'Epoch\(val\).*mAP' "$OUT/train_amp_bank_$name.log" | tail -1 \
        | sed 's/^/    /' >> "$REPORT"
done

section "Two-process NCCL training (tools/dist_train.sh)"
if [ "$NGPU" -ge 2 ]; then
    run dist_train_nccl 300 env PORT=${PORT:-29531} bash tools/dist_train.sh \
        configs/meid_synthetic.py 2 --work-dir "$OUT/dist_nccl" \
        --cfg-options "data_root=$DATA"
    grep -E 'Epoch\(val\).*mAP' "$OUT/dist_train_nccl.log" | tail -1 \
        | sed 's/^/    /' >> "$REPORT"
else
    echo "- skipped: $NGPU GPU" >> "$REPORT"
fi

section "Training-input throughput (bench_data_pipeline.py)"
if [ "${INPUT_BENCH:-0}" = 1 ]; then
    run input 900 "$PY" tools/benchmark/bench_data_pipeline.py \
        --work-dir "$OUT/input_bench" --num-videos "${BENCH_VIDEOS:-2000}" \
        --frames 200 --batch-size 128 --workers 4 --fast-paths \
        --bank-device cuda --pack-dtypes float16 --cache cold warm \
        --repeats 3 --json "$OUT/input.json"
    grep -E '^\||^[0-9]+ videos|cached' "$OUT/input.log" >> "$REPORT"
else
    echo "- skipped (set INPUT_BENCH=1)" >> "$REPORT"
fi

echo
cat "$REPORT"
echo
echo "gpu_check: report in $REPORT"
exit $FAILED
