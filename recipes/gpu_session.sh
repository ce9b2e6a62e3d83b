#!/usr/bin/env bash
# Continue the packaged default model on a lent GPU in ONE call of the `device` tool (a task that is lent one gets
# 15 minutes of device time in all, one command at most 10 minutes; the machine has no network, and only the
# checkout travels, not ../shared). Three steps:
#
#   recipes/gpu_session.sh bundle          # here: .gpu/ = musdb7/train audio + the wheels the GPU image lacks
#   run(command="recipes/gpu_session.sh train", carry=[".gpu"], timeout_s=570)      # there: ~8 minutes
#   recipes/gpu_session.sh unpack FILES_AT runs/gpu/model   # here: rejoin the returned model folder
#
# then score it against the packaged model here, as every session does (recipes/README.md, "Ship procedure").
# What travels is capped at 64 MiB with the checkout (~31 MiB, mostly the packaged weights): the MUSDB previews
# (26 MiB) fit, the EIR songs and MIR-1K do not, so the GPU run trains on the previews alone (they are ~80% of the
# CPU runs' draws). The returned files are capped at 16 MiB each, so the fp16 weights come back in two parts.
#
# `train` settings (environment): MINUTES [6] of training, BATCH [64] crops of CROP [256] frames a step, LR [1e-4],
# WARMUP [20], SEED [20], AUGMENT [mixup_prob=0,voxaug_prob=0.5: half the crops a vocal over another preview], DEVICE
# [cuda], PRECISION [bf16], WORKERS [12], EXTRA [more finetune options, e.g. --eval-mode], OUT [$OUT, the device
# tool's folder].
# The candidate is fixed before the run: the mean of the checkpoints in the last 40% of its steps.
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
  mkdir -p "$BUNDLE/wheels" "$BUNDLE/musdb7"
  cp -rL "$SHARED/musdb7/train" "$BUNDLE/musdb7/"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$BUNDLE/wheels" "${WHEELS[@]}"
  local tree
  tree=$(cd "$ROOT" && git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
  echo "bundle $(du -sb "$BUNDLE" | cut -f1) bytes + tracked files $tree bytes (the limit is $((64 << 20)))"
}

train() {
  local out=${OUT:?set OUT (the device tool sets it)} work=${WORK_DIR:-/tmp/vr-gpu}
  local minutes=${MINUTES:-6} started extra
  read -ra extra <<< "${EXTRA:-}"
  started=$(date +%s)
  if ! python3 -c "import soundfile, soxr, platformdirs" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "$BUNDLE"/wheels/*.whl
    export PYTHONPATH=/tmp/site
  fi
  export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
  local vr=(python3 -m vocal_remover)
  mkdir -p "$work"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  "${vr[@]}" cache "$BUNDLE/musdb7/train" -o "$work/cache" -j "${CACHE_JOBS:-12}" -q
  echo "cache ready after $(( $(date +%s) - started )) s"
  "${vr[@]}" finetune --checkpoint "$ROOT/vocal_remover/models/default" --data "$work/cache" \
      --device "${DEVICE:-cuda}" --precision "${PRECISION:-bf16}" --batch-size "${BATCH:-64}" \
      --cropsizes "${CROP:-256}" --lr "${LR:-1e-4}" --warmup "${WARMUP:-20}" --steps 0 --max-minutes "$minutes" \
      --wave-weight 0 --sdr-weight 1e-3 --sdr-floor 1e-2 --augment "${AUGMENT:-mixup_prob=0,voxaug_prob=0.5}" \
      --val-every 0 --checkpoint-every "${CHECKPOINT_EVERY:-25}" --keep-last 40 --workers "${WORKERS:-12}" \
      --seed "${SEED:-20}" --progress plain --status-every 30 --run-dir "$work/run" --overwrite "${extra[@]}"
  python3 "$HERE/average_checkpoints.py" --run "$work/run" --tail 0.4 -o "$work/model"
  cp "$work/model/config.json" "$work/model/README.md" "$work/run/metrics.jsonl" "$out/"
  split -b 15M -d "$work/model/model.safetensors" "$out/model.safetensors.part"
  echo "done after $(( $(date +%s) - started )) s; $(ls "$work/run/checkpoints" | wc -l) checkpoint files"
}

unpack() {
  local from=${1:?FILES_AT} dest=${2:?model folder}
  mkdir -p "$dest"
  cat "$from"/model.safetensors.part* > "$dest/model.safetensors.tmp"
  cp "$from/config.json" "$from/README.md" "$dest/"
  mv "$dest/model.safetensors.tmp" "$dest/model.safetensors"
  echo "$dest"
}

"$@"
