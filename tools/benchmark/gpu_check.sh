#!/usr/bin/env bash
# GPU readiness in one command: on a machine with CUDA, run the CUDA-marked
# tests, a short --amp training run with the feature bank on the GPU, a
# 2-process NCCL training run (if >= 2 GPUs) and the speed benchmarks, and
# write every figure to OUT_DIR/gpu_check.md (logs beside it).
#
# Usage: bash tools/benchmark/gpu_check.sh [OUT_DIR]
#   OUT_DIR defaults to work_dirs/gpu_check. Environment: BENCH_VIDEOS
#   (videos of the input-throughput benchmark, default 2000, CharadesLT
#   shape [200, 2048]: ~5 GB of disk in OUT_DIR), SKIP_INPUT_BENCH=1 to
#   skip that benchmark.
# Exit status: 0 if every check passed, 1 if one failed, 2 without CUDA.
set -uo pipefail
OUT=${1:-work_dirs/gpu_check}
TOOLS=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(dirname "$TOOLS")
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
REPORT="$OUT/gpu_check.md"
FAILED=0

if ! python -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'
then
    echo "gpu_check: no CUDA device visible to torch; nothing to check" >&2
    exit 2
fi
NGPU=$(python -c 'import torch; print(torch.cuda.device_count())')

section() { printf '\n## %s\n\n' "$1" >> "$REPORT"; }
# run NAME CMD...: log to OUT/NAME.log, record pass/fail and the log tail
run() {
    local name=$1; shift
    local t0=$SECONDS
    "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    if [ $rc -eq 0 ]; then status=PASS; else status="FAIL (exit $rc)"; \
        FAILED=1; fi
    printf -- '- `%s`: **%s** in %d s (log: %s.log)\n' "$*" "$status" \
        $((SECONDS - t0)) "$name" >> "$REPORT"
    return $rc
}

{
    echo "# GPU check"
    echo
    echo "- date: $(date -u +%FT%TZ)"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo n/a)"
    echo "- GPUs ($NGPU):"
    nvidia-smi --query-gpu=name,memory.total,driver_version \
        --format=csv,noheader 2>/dev/null | sed 's/^/  - /'
    python -c 'import torch, mmengine, mmaction; print(
        f"- torch {torch.__version__} (CUDA {torch.version.cuda}), "
        f"mmengine {mmengine.__version__}, mmaction2 {mmaction.__version__}")'
} > "$REPORT"

section "CUDA-marked tests (pytest -m cuda)"
run cuda_tests python -m pytest -m cuda -v -rs -p no:cacheprovider
grep -E '(PASSED|FAILED|SKIPPED|ERROR)' "$OUT/cuda_tests.log" \
    | sed 's/^/    /' >> "$REPORT"

section "Training through tools/train.py: --amp, feature bank on the GPU"
DATA="$OUT/synthetic_lt"
if [ ! -f "$DATA/meta.json" ]; then
    python tools/data/generate_synthetic.py "$DATA" > "$OUT/gen.log" 2>&1
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
    run "train_amp_bank_$name" python tools/train.py "$cfg" --amp \
        --work-dir "$OUT/$name" --cfg-options "${BANK_OPTS[@]}"
    grep -E 'Epoch\(val\).*mAP' "$OUT/train_amp_bank_$name.log" | tail -1 \
        | sed 's/^/    /' >> "$REPORT"
done

section "Two-process NCCL training (tools/dist_train.sh)"
if [ "$NGPU" -ge 2 ]; then
    run dist_train_nccl env PORT=${PORT:-29531} bash tools/dist_train.sh \
        configs/meid_synthetic.py 2 --work-dir "$OUT/dist_nccl" \
        --cfg-options "data_root=$DATA"
    grep -E 'Epoch\(val\).*mAP' "$OUT/dist_train_nccl.log" | tail -1 \
        | sed 's/^/    /' >> "$REPORT"
else
    echo "- skipped: $NGPU GPU" >> "$REPORT"
fi

section "Training step at VideoLT shape (bench_step.py, B 128, N 60)"
for amp in none bf16 fp16; do
    run "step_$amp" python tools/benchmark/bench_step.py --device cuda \
        --amp "$amp" --repeats 10 --warmup 3 --threads 8 \
        --bank-gather --project-videos 179334 --project-epochs 100 \
        --json "$OUT/step_$amp.json"
    grep -vE 'INFO|^ *$|torch.Size|init_weights' "$OUT/step_$amp.log" \
        | grep -E '^\||^stage|conversions|projected|gather' >> "$REPORT"
done

section "LongTailMAP at VideoLT test size (bench_long_tail_map.py)"
run ltmap python tools/benchmark/bench_long_tail_map.py
grep -E '^\|' "$OUT/ltmap.log" >> "$REPORT"

section "Training-input throughput (bench_data_pipeline.py)"
if [ "${SKIP_INPUT_BENCH:-0}" != 1 ]; then
    run input python tools/benchmark/bench_data_pipeline.py \
        --work-dir "$OUT/input_bench" --num-videos "${BENCH_VIDEOS:-2000}" \
        --frames 200 --batch-size 128 --workers 4 --fast-paths \
        --bank-device cuda --pack-dtypes float16 --cache cold warm \
        --repeats 3 --json "$OUT/input.json"
    grep -E '^\||^[0-9]+ videos|cached' "$OUT/input.log" >> "$REPORT"
else
    echo "- skipped (SKIP_INPUT_BENCH=1)" >> "$REPORT"
fi

echo
cat "$REPORT"
echo
echo "gpu_check: report in $REPORT"
exit $FAILED
