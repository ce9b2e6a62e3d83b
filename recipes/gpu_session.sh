#!/usr/bin/env bash
# Continue the packaged default model on a lent GPU with the `device` tool (a task that is lent one gets
# 15 minutes of device time in all, one command at most 10 minutes; the machine has no network, and only the
# checkout travels, not ../shared). What travels is capped at 64 MiB a call with the checkout (~31 MiB, mostly the
# packaged weights), so the audio goes in two calls, the second while the machine is still warm (it stays 30 s):
#
#   recipes/gpu_session.sh bundle          # here: .gpu/ = musdb7 train + valid; .gpu-eir/ = five EIR songs + wheels;
#                                          # .gpu-mir/ = every third MIR-1K clip
#   run(command="recipes/gpu_session.sh stage .gpu-eir", carry=[".gpu-eir"], timeout_s=120)  # there: to /tmp
#   run(command="recipes/gpu_session.sh stage .gpu-mir", carry=[".gpu-mir"], timeout_s=120)  # (within 30 s)
#   run(command="VARIANTS=1 recipes/gpu_session.sh train 2>&1 | tee $OUT/train.log", carry=[".gpu"], timeout_s=590)
#   recipes/gpu_session.sh unpack FILES_AT runs/gpu   # here: rejoin the returned model folders
#
# The CPU recipe's data on the GPU (session 17's GPU run, without it, lost 1 dB on the held-out EIR song): with
# VARIANTS=1 `train` makes the pair variants there (recipes/data/make_pair_variants.py with the torch phase vocoder
# on the GPU: librosa is not on that machine), two per MUSDB preview and staged EIR song, and trains on MUSDB, EIR,
# the staged MIR-1K clips and the variants at the CPU recipe's weights (1, 0.25, 3 x 0.035 for a third of the
# clips, 0.5). Suggested for the next lent GPU (session 17's note): VARIANTS=1 LR=5e-5 EXTRA=--eval-mode
# AUGMENT=mixup_prob=0,voxaug_prob=0, as the CPU recipe trains, with band_limit_prob=0.3 added (sessions 29-30: +0.21 and
# +0.12 dB at 16 kHz, +0.07 and +0.06 on MUSDB against the same crops without it).
#
# then score them against the packaged model here, as every session does (recipes/README.md, "Ship procedure").
# Five of the six training EIR songs fit beside the wheels (2.Lithium, the largest, stays behind); MIR-1K does not
# fit in one call: a third of its clips does, as a call of its own. Without `stage` the run trains on the MUSDB
# previews alone. The returned files are capped at 16 MiB each, so
# the fp16 weights come back in parts, and a call returns at most 8 files: the run's metrics, and per model folder its
# config.json and two parts (no model card), leave one for the caller's own log.
#
# `train` settings (environment): MINUTES [6] of training, BATCH [64] crops of CROP [256] frames a step, LR [1e-4],
# WARMUP [20], SEED [20], AUGMENT [mixup_prob=0,voxaug_prob=0.5: half the crops a vocal over another preview], DEVICE
# [cuda], PRECISION [bf16], WORKERS [12], EIR_WEIGHT [0.25, against 1 for the previews, as in the CPU runs],
# EXTRA [more finetune options, e.g. --eval-mode], OUT [$OUT, the device tool's folder], VARIANTS [0: 1 makes and
# trains on the pair variants], MIR_WEIGHT [0.105], VARIANTS_WEIGHT [0.5].
# Candidates, fixed before the run: the mean of the checkpoints in the last 40% of its steps (model-tail) and in its
# first 30% (model-early); `unpack` adds the tail mean halfway back to the packaged model (model-tail-half).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUNDLE=$ROOT/.gpu
SHARED=${SHARED:-$ROOT/../shared/data}
# The GPU image (python 3.12) has torch, numpy, typer, rich, huggingface-hub, safetensors and onnxruntime;
# these are what `cache` and `finetune` import beside them.
WHEELS=(soundfile==0.13.1 cffi==1.17.1 pycparser==2.22 soxr==0.5.0.post1 platformdirs==4.3.6)

bundle() {
  grep -qx '/.gpu/' "$ROOT/.git/info/exclude" 2>/dev/null || echo '/.gpu/' >> "$ROOT/.git/info/exclude"
  grep -qx '/.gpu-eir/' "$ROOT/.git/info/exclude" || echo '/.gpu-eir/' >> "$ROOT/.git/info/exclude"
  mkdir -p "$BUNDLE/musdb7" "$BUNDLE-eir/wheels" "$BUNDLE-eir/eir"
  cp -rL "$SHARED/musdb7/train" "$SHARED/musdb7/valid" "$BUNDLE/musdb7/"
  local song
  for song in 1.Hydrogen 3.Sodium 4.Potassium 5.Rubidium 6.Caesium; do cp -rL "$SHARED/eir/$song" "$BUNDLE-eir/eir/"; done
  grep -qx '/.gpu-mir/' "$ROOT/.git/info/exclude" || echo '/.gpu-mir/' >> "$ROOT/.git/info/exclude"
  mkdir -p "$BUNDLE-mir/mir1k"
  ls "$SHARED/mir1k" | awk 'NR % 3 == 1' | while read -r clip; do cp -rL "$SHARED/mir1k/$clip" "$BUNDLE-mir/mir1k/"; done
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$BUNDLE-eir/wheels" "${WHEELS[@]}"
  local tree
  tree=$(cd "$ROOT" && git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
  echo "tracked files $tree bytes; .gpu $(du -sb "$BUNDLE" | cut -f1), .gpu-eir $(du -sb "$BUNDLE-eir" | cut -f1)," \
       ".gpu-mir $(du -sb "$BUNDLE-mir" | cut -f1)" \
       "(each call: tracked + one bundle <= $((64 << 20)))"
}

# There, before `train`: a carried bundle's folders (BUNDLE_DIR [.gpu-eir]: the EIR songs and wheels; .gpu-mir: the
# MIR-1K clips) to WORK_DIR, where the next call (on the warm machine) finds them.
stage() {
  local work=${WORK_DIR:-/tmp/vr-gpu} from=$ROOT/${1:-.gpu-eir}
  mkdir -p "$work"
  cp -r "$from"/* "$work/"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  du -sh "$work"/*
}

train() {
  local out=${OUT:?set OUT (the device tool sets it)} work=${WORK_DIR:-/tmp/vr-gpu}
  local minutes=${MINUTES:-6} started extra
  read -ra extra <<< "${EXTRA:-}"
  started=$(date +%s)
  if ! python3 -c "import soundfile, soxr, platformdirs" 2>/dev/null; then
    local wheels=$work/wheels
    [ -d "$wheels" ] || wheels=$BUNDLE-eir/wheels
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "$wheels"/*.whl
    export PYTHONPATH=/tmp/site
  fi
  export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
  local vr=(python3 -m vocal_remover)
  mkdir -p "$work"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  local data=(--data "$work/cache") val=()
  "${vr[@]}" cache "$BUNDLE/musdb7/train" -o "$work/cache" -j "${CACHE_JOBS:-12}" -q
  local weights=1
  if [ -d "$work/eir" ]; then
    "${vr[@]}" cache "$work/eir" -o "$work/cache-eir" -j "${CACHE_JOBS:-12}" -q
    data+=(--data "$work/cache-eir") weights+=",${EIR_WEIGHT:-0.25}"
  fi
  if [ -d "$work/mir1k" ]; then
    "${vr[@]}" cache "$work/mir1k" -o "$work/cache-mir1k" -j "${CACHE_JOBS:-12}" -q
    data+=(--data "$work/cache-mir1k") weights+=",${MIR_WEIGHT:-0.105}"
  fi
  if [ "${VARIANTS:-0}" = 1 ]; then
    local sources=("$BUNDLE/musdb7/train") pids=()
    [ -d "$work/eir" ] && sources+=("$work/eir")
    for source in "${sources[@]}"; do  # one process per source, side by side
      python3 "$HERE/data/make_pair_variants.py" "$source" -o "$work/pair-variants" --variants 2 \
          --engine torch --device "${DEVICE:-cuda}" --format wav 2>/dev/null & pids+=($!)
    done
    wait "${pids[@]}"
    echo "pair variants: $(ls "$work/pair-variants" | wc -l) after $(( $(date +%s) - started )) s"
    "${vr[@]}" cache "$work/pair-variants" -o "$work/cache-variants" -j "${CACHE_JOBS:-12}" -q
    data+=(--data "$work/cache-variants") weights+=",${VARIANTS_WEIGHT:-0.5}"
  fi
  [ "$weights" = 1 ] || data+=(--data-weights "$weights")
  if [ -d "$BUNDLE/musdb7/valid" ]; then
    "${vr[@]}" cache "$BUNDLE/musdb7/valid" -o "$work/cache-valid" -j "${CACHE_JOBS:-12}" -q
    val=(--val-data "$work/cache-valid" --val-every "${VAL_EVERY:-50}")
  fi
  echo "cache ready after $(( $(date +%s) - started )) s"
  "${vr[@]}" finetune --checkpoint "$ROOT/vocal_remover/models/default" "${data[@]}" \
      --device "${DEVICE:-cuda}" --precision "${PRECISION:-bf16}" --batch-size "${BATCH:-64}" \
      --cropsizes "${CROP:-256}" --lr "${LR:-1e-4}" --warmup "${WARMUP:-20}" --steps 0 --max-minutes "$minutes" \
      --wave-weight 0 --sdr-weight 1e-3 --sdr-floor 1e-2 --augment "${AUGMENT:-mixup_prob=0,voxaug_prob=0.5}" \
      --val-every 0 "${val[@]}" --checkpoint-every "${CHECKPOINT_EVERY:-25}" --keep-last 200 \
      --workers "${WORKERS:-12}" --seed "${SEED:-20}" --progress plain --status-every 30 --run-dir "$work/run" \
      --overwrite "${extra[@]}"
  python3 "$HERE/average_checkpoints.py" --run "$work/run" --tail 0.4 -o "$work/model-tail"
  python3 "$HERE/average_checkpoints.py" --run "$work/run" --head 0.3 -o "$work/model-early" ||
      echo "no early mean (fewer than two checkpoints in the first 30% of the steps)"
  cp "$work/run/metrics.jsonl" "$out/"
  local name
  for name in model-tail model-early; do
    [ -f "$work/$name/model.safetensors" ] || continue
    mkdir -p "$out/$name"
    cp "$work/$name/config.json" "$out/$name/"   # no model card: a call returns at most 8 files
    split -b 15M -d "$work/$name/model.safetensors" "$out/$name/model.safetensors.part"
  done
  echo "done after $(( $(date +%s) - started )) s; $(ls "$work/run/checkpoints" | wc -l) checkpoint files"
}

unpack() {
  local from=${1:?FILES_AT} dest=${2:?folder for the model folders} name
  for name in model-tail model-early; do
    [ -d "$from/$name" ] || continue
    mkdir -p "$dest/$name"
    cat "$from/$name"/model.safetensors.part* > "$dest/$name/model.safetensors.tmp"
    cp "$from/$name/config.json" "$dest/$name/"
    mv "$dest/$name/model.safetensors.tmp" "$dest/$name/model.safetensors"
  done
  cp "$from/metrics.jsonl" "$dest/"
  python3 "$HERE/interpolate_weights.py" "$ROOT/vocal_remover/models/default" "$dest/model-tail" --alpha 0.5 \
      -o "$dest/model-tail-half"
  ls -d "$dest"/model-*
}

"$@"
