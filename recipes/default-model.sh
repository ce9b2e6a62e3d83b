#!/usr/bin/env bash
# Reproduce the packaged default model from the shared data with the project's own commands:
# cache -> (optional) pretrain on mixtures -> finetune on stems -> export (fp16) -> evaluate.
#
#   recipes/default-model.sh [WORK_DIR]          # WORK_DIR default: runs/default-model
#
# Settings (environment variables, defaults in brackets):
#   DATA [../shared/data]        the folder holding musdb7/{train,valid} and mir1k
#   DEVICE [auto]                cuda, cpu or mps
#   PRETRAIN_MINUTES [0]         minutes of masked pretraining on mixtures first (0: none)
#   FINETUNE_MINUTES [100]       minutes of supervised finetuning
#   MIR1K_WEIGHT [0.035]         per-track sampling weight of MIR-1K against MUSDB's 1 (0.035 gives MIR-1K's
#                                104 minutes about 30% of the draws; it is band-limited to 8 kHz)
#   BATCH [4] CROP [256] LR [2e-4] WARMUP [300] WORKERS [0] VAL_EVERY [100] SEED [0] SAMPLES_PER_EPOCH [2048]
#   CACHE_DIR [WORK_DIR/cache] CACHE_JOBS [2] SKIP_CACHE [0] VR [vocal-remover] MODEL_CONFIG [recipes/default-model.json]
# Both training phases are time-budgeted (`--steps 0 --max-minutes M`): after 20 timed steps the run
# fixes its total steps to what fits, so the learning rate decays to its floor by the deadline.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${DATA:-$HERE/../../shared/data}
WORK=${1:-runs/default-model}
VR=${VR:-vocal-remover}
DEVICE=${DEVICE:-auto}
PRETRAIN_MINUTES=${PRETRAIN_MINUTES:-0}
FINETUNE_MINUTES=${FINETUNE_MINUTES:-100}
MIR1K_WEIGHT=${MIR1K_WEIGHT:-0.035}
BATCH=${BATCH:-4}
CROP=${CROP:-256}
LR=${LR:-2e-4}
WARMUP=${WARMUP:-300}
WORKERS=${WORKERS:-0}
VAL_EVERY=${VAL_EVERY:-100}
SEED=${SEED:-0}
SAMPLES_PER_EPOCH=${SAMPLES_PER_EPOCH:-2048}
MODEL_CONFIG=${MODEL_CONFIG:-$HERE/default-model.json}
CACHE=${CACHE_DIR:-$WORK/cache}
mkdir -p "$WORK"
started=$(date +%s)

# 1. Caches (idempotent: a second run reuses them; SKIP_CACHE=1 when another process built them).
if [ "${SKIP_CACHE:-0}" != 1 ]; then
  for set in musdb7/train mir1k musdb7/valid; do
    $VR cache "$DATA/$set" -o "$CACHE/${set/\//-}" -j "${CACHE_JOBS:-2}" -q
  done
fi
TRAIN=(--data "$CACHE/musdb7-train" --data "$CACHE/mir1k" --data-weights "1,$MIR1K_WEIGHT")
COMMON=(--device "$DEVICE" --batch-size "$BATCH" --cropsizes "$CROP" --lr "$LR" --warmup "$WARMUP"
        --workers "$WORKERS" --steps 0 --seed "$SEED" --checkpoint-every 1000 --samples-per-epoch "$SAMPLES_PER_EPOCH" --progress json)

# 2. Optional masked pretraining on the mixtures (the seed's "unmasking" objective).
START=()
if [ "$PRETRAIN_MINUTES" != "0" ]; then
  $VR pretrain "${TRAIN[@]}" --model-config "$MODEL_CONFIG" --run-dir "$WORK/pretrain" \
    --max-minutes "$PRETRAIN_MINUTES" --val-data "$CACHE/musdb7-valid" --val-every "$VAL_EVERY" \
    "${COMMON[@]}" 2>"$WORK/pretrain.log"
  START=(--checkpoint "$WORK/pretrain/checkpoints/last.pt")
else
  START=(--model-config "$MODEL_CONFIG")
fi

# 3. Supervised finetuning (voxaug remixing), keeping the checkpoint with the best validation SDR.
$VR finetune "${START[@]}" "${TRAIN[@]}" --run-dir "$WORK/finetune" --max-minutes "$FINETUNE_MINUTES" \
  --val-data "$CACHE/musdb7-valid" --val-every "$VAL_EVERY" "${COMMON[@]}" 2>"$WORK/finetune.log"

# 4. Export the best checkpoint as an fp16 model folder, 5. evaluate it on the validation tracks.
$VR export "$WORK/finetune" -o "$WORK/model" --fp16 --overwrite
$VR evaluate "$DATA/musdb7/valid" -m "$WORK/model" --device "$DEVICE" --json -q > "$WORK/evaluate.json"
echo "wall seconds: $(( $(date +%s) - started ))" | tee "$WORK/wall.txt"
