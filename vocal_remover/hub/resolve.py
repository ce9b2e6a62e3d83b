"""`resolve_model(spec)`: what the user passed with `-m`, as a local model folder (or an ONNX file).

`spec` is, in this order: an existing local path; a registry name; a Hub id `org/name` or
`org/name@revision` (branch, tag or commit). Loading the folder is vocal_remover.artifacts' job.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Callable

from vocal_remover.artifacts.format import CONFIG_NAME, MODEL_FILES, ONNX_NAME, WEIGHTS_NAME
from vocal_remover.errors import ModelError
from vocal_remover.hub.cache import cached_snapshot, verify_sha256
from vocal_remover.hub.download import resolve_hub
from vocal_remover.hub.environment import env_offline, hub_cache_dir
from vocal_remover.hub.registry import NAME_RE, REPO_PART, RegistryEntry, load_registry

_HUB_SPEC_RE = re.compile(rf"^(?P<repo>{REPO_PART}/{REPO_PART})(?:@(?P<rev>.*))?$")


def resolve_model(spec: str | Path, *, offline: bool = False, cache_dir: str | Path | None = None,
                  progress: Callable[[str], None] | None = None) -> Path:
    """Return a local folder with the model files (or, for a file such as `.onnx`, the file).

    `spec` is, in this order: an existing local path; a registry name; a Hub id `org/name` or
    `org/name@revision` (branch, tag or commit). `offline=True` (or `HF_HUB_OFFLINE=1`) never
    touches the network and uses the Hugging Face cache only. Every failure is a `ModelError`.
    """
    return _resolve(spec, offline=offline, cache_dir=cache_dir, progress=progress, downloading=False)


def download_model(name_or_id: str, *, cache_dir: str | Path | None = None,
                   progress: Callable[[str], None] | None = None) -> Path:
    """For `vocal-remover models download`: resolve online (fetching what is missing into the
    cache) and return the folder."""
    return _resolve(name_or_id, offline=False, cache_dir=cache_dir, progress=progress, downloading=True)


def list_models(cache_dir: str | Path | None = None) -> list[dict]:
    """One dict per registry entry: name, description, source ("packaged" or
    "hub org/name@<rev[:12]>") and available (usable without network). Never touches the network."""
    rows = []
    for name, entry in sorted(load_registry().items()):
        if entry.packaged_present or not entry.repo_id:
            source = "packaged"
            available = entry.packaged_present
        else:
            source = f"hub {entry.hub_source}"
            available = cached_snapshot(entry.repo_id, entry.revision, hub_cache_dir(cache_dir)) is not None
        rows.append({"name": name, "description": entry.description, "source": source, "available": available})
    return rows


def _resolve(spec: str | Path, *, offline: bool, cache_dir: str | Path | None,
             progress: Callable[[str], None] | None, downloading: bool) -> Path:
    raw = os.fspath(spec) if isinstance(spec, (str, os.PathLike)) else ""
    text = raw.strip()
    if not text:
        raise ModelError("model", "no model given; pass a model folder, a registry name or a Hub id")
    offline = offline or env_offline()

    # 1. An existing local path.
    path = Path(raw).expanduser()
    if path.exists():
        if path.is_dir() and (path / "checkpoints").is_dir() and not (path / WEIGHTS_NAME).is_file():
            raise ModelError(f"model '{text}'", "a training run directory, not a model folder; export it first: "
                             f"vocal-remover export {shlex.quote(text)} -o MODEL_DIR, then use -m MODEL_DIR")
        if path.is_dir():
            _check_folder(path, f"model folder '{text}'")
        return path  # a file (e.g. .onnx) is returned unchanged; another module handles it
    if isinstance(spec, os.PathLike):  # a Path object is never a name or a Hub id
        raise ModelError(f"model '{text}'", "no such file or folder")

    # 2. A registry name.
    if NAME_RE.match(text):
        registry = load_registry()
        if text in registry:
            return _resolve_entry(registry[text], offline=offline, cache_dir=cache_dir, progress=progress,
                                  downloading=downloading)

    # 3. A Hub id, optionally with @revision.
    match = _HUB_SPEC_RE.match(text)
    if match:
        repo_id, revision = match.group("repo"), match.group("rev")
        what = f"model '{text}'"
        if revision is not None and (not revision.strip() or revision != revision.strip()):
            raise ModelError(what, "empty or padded revision after '@'; use org/name@<branch, tag or commit>")
        return resolve_hub(repo_id, revision or "main", what=what, spec=text, sha256=None, offline=offline,
                            cache_dir=cache_dir, progress=progress, downloading=downloading)

    # 4. Nothing we know.
    if _looks_like_path(text):
        raise ModelError(f"model '{text}'", "no such file or folder")
    raise ModelError(f"model '{text}'", "not an existing path, a registry name (see `vocal-remover models list`) "
                                        "or a Hub id like org/name[@revision]")


def _resolve_entry(entry: RegistryEntry, *, offline: bool, cache_dir, progress, downloading: bool) -> Path:
    what = f"model '{entry.name}'"
    if entry.packaged_present:
        folder = entry.packaged_path
        _check_folder(folder, what)
        if entry.sha256:
            verify_sha256(folder / WEIGHTS_NAME, entry.sha256, what, discard=False)
        return folder
    if entry.repo_id:
        return resolve_hub(entry.repo_id, entry.revision, what=what, spec=entry.name, sha256=entry.sha256,
                            offline=offline, cache_dir=cache_dir, progress=progress, downloading=downloading)
    raise ModelError(what, "no trained model is packaged with this version yet; pass -m with a model folder "
                           "or Hub id (see `vocal-remover models list`)")


def _check_folder(folder: Path, what: str) -> None:
    if (folder / ONNX_NAME).is_file() and (folder / CONFIG_NAME).is_file():
        return  # an exported ONNX model (run with onnxruntime, see vocal_remover.artifacts.onnx_model)
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelError(what, f"missing {' and '.join(missing)}; a model folder needs {' and '.join(MODEL_FILES)}")


def _looks_like_path(text: str) -> bool:
    return (text.startswith(("/", "./", "../", "~", ".\\", "..\\")) or "\\" in text or text.count("/") > 1
            or bool(re.match(r"^[A-Za-z]:", text)) or text.lower().endswith((".onnx", ".safetensors", ".json")))

