"""The model registry: names that `-m` accepts, each pinned to a Hub commit or a packaged folder.

The built-in `vocal_remover/registry.json`, plus the JSON file named by `VOCAL_REMOVER_REGISTRY`
(same schema; its entries replace built-in ones of the same name). Also the shapes of the names and
ids the hub package accepts.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vocal_remover.artifacts.format import WEIGHTS_NAME
from vocal_remover.errors import ModelError

REGISTRY_ENV = "VOCAL_REMOVER_REGISTRY"
REGISTRY_FORMAT = 1

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_BUILTIN_REGISTRY = _PACKAGE_DIR / "registry.json"
PACKAGED_MODELS = _PACKAGE_DIR / "models"

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # registry names, packaged folder names
REPO_PART = r"[A-Za-z0-9][A-Za-z0-9._-]*"
REPO_ID_RE = re.compile(rf"^{REPO_PART}/{REPO_PART}$")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_ENTRY_KEYS = ("description", "repo_id", "revision", "sha256", "packaged")


@dataclass(frozen=True)
class RegistryEntry:
    name: str
    description: str
    repo_id: str | None = None  # Hub repo "org/name"
    revision: str | None = None  # full 40-hex commit hash
    sha256: str | None = None  # of the weights file (WEIGHTS_NAME)
    packaged: str | None = None  # folder name under vocal_remover/models/

    @property
    def packaged_path(self) -> Path | None:
        return PACKAGED_MODELS / self.packaged if self.packaged else None

    @property
    def packaged_present(self) -> bool:
        path = self.packaged_path
        return path is not None and path.is_dir()

    @property
    def hub_source(self) -> str | None:
        if not self.repo_id:
            return None
        return f"{self.repo_id}@{self.revision[:12]}" if self.revision else self.repo_id


def load_registry() -> dict[str, RegistryEntry]:
    """Built-in `vocal_remover/registry.json`, plus the entries of the JSON file named by
    `VOCAL_REMOVER_REGISTRY` (same schema; an entry there replaces the built-in one of the same
    name). An invalid file or entry raises `ModelError`."""
    entries = _read_registry_file(_BUILTIN_REGISTRY, "built-in registry")
    extra = os.environ.get(REGISTRY_ENV, "").strip()
    if extra:
        path = Path(extra).expanduser()
        label = f"registry file '{path}' ({REGISTRY_ENV})"
        if not path.is_file():
            raise ModelError(label, "no such file; fix or unset the variable")
        entries.update(_read_registry_file(path, label))
    return entries


def _read_registry_file(path: Path, label: str) -> dict[str, RegistryEntry]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(label, f"cannot read it: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(label, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ModelError(label, 'expected a JSON object like {"format": 1, "models": {...}}')
    if data.get("format") != REGISTRY_FORMAT:
        raise ModelError(label, f"unsupported format {data.get('format')!r}; expected \"format\": {REGISTRY_FORMAT}")
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise ModelError(label, '"models" must be an object mapping names to entries')
    return {name: _parse_entry(name, raw, label) for name, raw in models.items()}


def _parse_entry(name: Any, raw: Any, label: str) -> RegistryEntry:
    def bad(why: str) -> ModelError:
        return ModelError(label, f"model '{name}': {why}")

    if not isinstance(name, str) or not NAME_RE.match(name):
        raise bad("names may only contain letters, digits, '.', '_' and '-' (no '/')")
    if not isinstance(raw, dict):
        raise bad("entry must be an object")
    unknown = sorted(set(raw) - set(_ENTRY_KEYS))
    if unknown:
        raise bad(f"unknown key '{unknown[0]}' (allowed: {', '.join(_ENTRY_KEYS)})")
    for key in _ENTRY_KEYS:
        if key in raw and raw[key] is not None and not isinstance(raw[key], str):
            raise bad(f"'{key}' must be a string")
    description = raw.get("description") or ""
    repo_id = raw.get("repo_id") or None
    revision = raw.get("revision") or None
    sha256 = raw.get("sha256") or None
    packaged = raw.get("packaged") or None

    if not repo_id and not packaged:
        raise bad("needs 'repo_id' (a Hub repo) or 'packaged' (a folder shipped with the package)")
    if packaged and not NAME_RE.match(packaged):
        raise bad(f"'packaged' must be a plain folder name, got '{packaged}'")
    if repo_id:
        if not REPO_ID_RE.match(repo_id):
            raise bad(f"'repo_id' must look like org/name, got '{repo_id}'")
        if revision is None:
            raise bad("a Hub entry needs 'revision' (the full 40-character commit hash it is pinned to)")
        if sha256 is None:
            raise bad(f"a Hub entry needs 'sha256' (of {WEIGHTS_NAME})")
    elif revision is not None:
        raise bad("'revision' only makes sense together with 'repo_id'")
    if revision is not None and not COMMIT_RE.match(revision):
        raise bad(f"'revision' must be a full 40-character lowercase commit hash, got '{revision}'")
    if sha256 is not None:
        if not _SHA256_RE.match(sha256):
            raise bad("'sha256' must be 64 hexadecimal characters")
        sha256 = sha256.lower()
    return RegistryEntry(name=name, description=description, repo_id=repo_id, revision=revision,
                         sha256=sha256, packaged=packaged)
