#!/usr/bin/env bash
# The packaged default model's run on one GPU, which also answers "does pretraining help?" at equal time:
# two arms run side by side on the same GPU and data, each through recipes/default-model.sh:
#   A: PRETRAIN_MINUTES of masked pretraining on the mixtures, then FINETUNE_MINUTES of finetuning;
#   B: finetuning from scratch for PRETRAIN_MINUTES + FINETUNE_MINUTES.
# WORK/A and WORK/B each end with an exported fp16 model folder (model/) and its evaluate.json.
#
#   DATA=../shared/data recipes/default-model-gpu.sh [WORK_DIR]      # WORK_DIR default: runs/default-model-gpu
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${1:-runs/default-model-gpu}
P=${PRETRAIN_MINUTES:-2.0}
F=${FINETUNE_MINUTES:-3.7}
TOTAL=$(python3 -c "print($P + $F)")
export DATA=${DATA:-$HERE/../../shared/data} VR=${VR:-vocal-remover} DEVICE=${DEVICE:-cuda}
export BATCH=${BATCH:-16} CROP=${CROP:-512} LR=${LR:-3e-4} WARMUP=${WARMUP:-200} WORKERS=${WORKERS:-4}
export SAMPLES_PER_EPOCH=${SAMPLES_PER_EPOCH:-16384} VAL_EVERY=${VAL_EVERY:-250} MIR1K_WEIGHT=${MIR1K_WEIGHT:-0.035} CACHE_DIR=$WORK/cache SKIP_CACHE=1
mkdir -p "$WORK"
started=$(date +%s)
for set in musdb7/train mir1k musdb7/valid; do
  $VR cache "$DATA/$set" -o "$CACHE_DIR/${set/\//-}" -j "${CACHE_JOBS:-8}" -q >/dev/null || exit 1
done
echo "caches ready after $(( $(date +%s) - started )) s"
PRETRAIN_MINUTES=$P FINETUNE_MINUTES=$F "$HERE/default-model.sh" "$WORK/A" >"$WORK/A.log" 2>&1 &
a=$!
PRETRAIN_MINUTES=0 FINETUNE_MINUTES=$TOTAL "$HERE/default-model.sh" "$WORK/B" >"$WORK/B.log" 2>&1 &
b=$!
wait $a; ra=$?
wait $b; rb=$?
echo "arm A (pretrain $P min, finetune $F min): exit $ra; arm B (finetune $TOTAL min): exit $rb;" \
     "wall $(( $(date +%s) - started )) s"
