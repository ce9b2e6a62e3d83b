#!/usr/bin/env bash
# Fetch the free instrumental game music listed in ../shared/data/README.md from Debian's archive and lay
# it out as an instrumental pool:  OUT/instrumentals/<package>/<file>.<ogg|opus>
#
#   recipes/data/fetch_instrumentals.sh [OUT]        # OUT default: data/debian-instrumentals
#
# Resumable: a package whose folder is complete (marked with .done) is skipped; a half-unpacked one is redone.
# Nothing is installed: `apt-get download` + `dpkg -x` into a scratch folder, and the .pk3 archives (zips)
# are unpacked with Python's zipfile. Licences: each package's copyright file is kept beside its music.
# The pool is NOT screened here: run recipes/data/screen_singing.py on it before training.
set -euo pipefail
OUT=${1:-data/debian-instrumentals}
PACKAGES=(warzone2100-music ufoai-music planetblupi-music-ogg wesnoth-1.16-music nexuiz-music
          singularity-music drascula-music hyperrogue-music)
mkdir -p "$OUT/instrumentals" "$OUT/.debs"
OUT=$(cd "$OUT" && pwd)

for pkg in "${PACKAGES[@]}"; do
  dest="$OUT/instrumentals/$pkg"
  if [ -e "$dest/.done" ]; then echo "$pkg: already there"; continue; fi
  rm -rf "$dest" "$OUT/.scratch-$pkg"
  ( cd "$OUT/.debs" && ls "${pkg}"_*.deb >/dev/null 2>&1 || apt-get download -q "$pkg" )
  deb=$(ls "$OUT/.debs/${pkg}"_*.deb | head -n 1)
  dpkg -x "$deb" "$OUT/.scratch-$pkg"
  mkdir -p "$dest"
  # music inside zip archives (.pk3): unpack only the audio members
  find "$OUT/.scratch-$pkg" -name '*.pk3' -print0 | while IFS= read -r -d '' pk3; do
    python3 - "$pk3" "$OUT/.scratch-$pkg/pk3" <<'PY'
import sys, zipfile, pathlib
src, dst = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(src) as z:
    for m in z.namelist():
        if m.lower().endswith((".ogg", ".opus", ".flac", ".wav")):
            z.extract(m, dst)
PY
  done
  # flatten: every audio file under the package, named by its path inside the package
  find "$OUT/.scratch-$pkg" -type f \( -iname '*.ogg' -o -iname '*.opus' -o -iname '*.flac' -o -iname '*.wav' \) \
    -print0 | sort -z | while IFS= read -r -d '' f; do
      rel=${f#"$OUT/.scratch-$pkg/"}
      name=$(printf '%s' "$rel" | sed 's#^usr/share/##; s#/#__#g')
      mv "$f" "$dest/$name"
    done
  find "$OUT/.scratch-$pkg" -name copyright -path '*doc*' -exec cp {} "$dest/COPYRIGHT" \; -quit
  rm -rf "$OUT/.scratch-$pkg"
  n=$(find "$dest" -type f ! -name COPYRIGHT | wc -l)
  echo "$pkg: $n files"
  touch "$dest/.done"
done
