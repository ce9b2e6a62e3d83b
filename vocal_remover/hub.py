"""Finding model folders: local paths, the model registry and the Hugging Face Hub.

`resolve_model(spec)` turns what the user passed with `-m` into a local folder holding
`config.json` + `model.safetensors` (+ optional `README.md`). Loading the folder is someone
else's job (`vocal_remover.artifacts`).

Kept import-light: `huggingface_hub` is imported inside the functions that need it, so
`import vocal_remover.hub` (and the CLI's `--help`) stays fast.

Settings are read from the environment *at call time* (huggingface_hub reads its own copy at
import): `HF_ENDPOINT`, `HF_HUB_OFFLINE`, `HF_HUB_CACHE` / `HF_HOME`, `HF_HUB_ETAG_TIMEOUT`,
and `VOCAL_REMOVER_REGISTRY` (a JSON file whose entries override the built-in registry).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import ModelError

MODEL_FILES = ("config.json", "model.safetensors")  # required
OPTIONAL_FILES = ("README.md",)
WEIGHTS_FILE = "model.safetensors"

REGISTRY_ENV = "VOCAL_REMOVER_REGISTRY"
REGISTRY_FORMAT = 1
DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_ETAG_TIMEOUT = 10.0

_PACKAGE_DIR = Path(__file__).resolve().parent
_BUILTIN_REGISTRY = _PACKAGE_DIR / "registry.json"
_PACKAGED_MODELS = _PACKAGE_DIR / "models"

_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # registry names, packaged folder names
_REPO_PART = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_REPO_ID_RE = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")
_HUB_SPEC_RE = re.compile(rf"^(?P<repo>{_REPO_PART}/{_REPO_PART})(?:@(?P<rev>.*))?$")
_ENTRY_KEYS = ("description", "repo_id", "revision", "sha256", "packaged")
_TRUE = {"1", "ON", "YES", "TRUE"}


@dataclass(frozen=True)
class RegistryEntry:
    name: str
    description: str
    repo_id: str | None = None  # Hub repo "org/name"
    revision: str | None = None  # full 40-hex commit hash
    sha256: str | None = None  # of model.safetensors
    packaged: str | None = None  # folder name under vocal_remover/models/

    @property
    def packaged_path(self) -> Path | None:
        return _PACKAGED_MODELS / self.packaged if self.packaged else None

    @property
    def packaged_present(self) -> bool:
        path = self.packaged_path
        return path is not None and path.is_dir()

    @property
    def hub_source(self) -> str | None:
        if not self.repo_id:
            return None
        return f"{self.repo_id}@{self.revision[:12]}" if self.revision else self.repo_id


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


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

    if not isinstance(name, str) or not _NAME_RE.match(name):
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
    if packaged and not _NAME_RE.match(packaged):
        raise bad(f"'packaged' must be a plain folder name, got '{packaged}'")
    if repo_id:
        if not _REPO_ID_RE.match(repo_id):
            raise bad(f"'repo_id' must look like org/name, got '{repo_id}'")
        if revision is None:
            raise bad("a Hub entry needs 'revision' (the full 40-character commit hash it is pinned to)")
        if sha256 is None:
            raise bad("a Hub entry needs 'sha256' (of model.safetensors)")
    elif revision is not None:
        raise bad("'revision' only makes sense together with 'repo_id'")
    if revision is not None and not _COMMIT_RE.match(revision):
        raise bad(f"'revision' must be a full 40-character lowercase commit hash, got '{revision}'")
    if sha256 is not None:
        if not _SHA256_RE.match(sha256):
            raise bad("'sha256' must be 64 hexadecimal characters")
        sha256 = sha256.lower()
    return RegistryEntry(name=name, description=description, repo_id=repo_id, revision=revision,
                         sha256=sha256, packaged=packaged)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


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
            available = _cached_snapshot(entry.repo_id, entry.revision, _hub_cache_dir(cache_dir)) is not None
        rows.append({"name": name, "description": entry.description, "source": source, "available": available})
    return rows


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------------


def _resolve(spec: str | Path, *, offline: bool, cache_dir: str | Path | None,
             progress: Callable[[str], None] | None, downloading: bool) -> Path:
    raw = os.fspath(spec) if isinstance(spec, (str, os.PathLike)) else ""
    text = raw.strip()
    if not text:
        raise ModelError("model", "no model given; pass a model folder, a registry name or a Hub id")
    offline = offline or _env_offline()

    # 1. An existing local path.
    path = Path(raw).expanduser()
    if path.exists():
        if path.is_dir() and (path / "checkpoints").is_dir() and not (path / MODEL_FILES[1]).is_file():
            raise ModelError(f"model '{text}'", "a training run directory, not a model folder; export it first: "
                             f"vocal-remover export {shlex.quote(text)} -o MODEL_DIR, then use -m MODEL_DIR")
        if path.is_dir():
            _check_folder(path, f"model folder '{text}'")
        return path  # a file (e.g. .onnx) is returned unchanged; another module handles it
    if isinstance(spec, os.PathLike):  # a Path object is never a name or a Hub id
        raise ModelError(f"model '{text}'", "no such file or folder")

    # 2. A registry name.
    if _NAME_RE.match(text):
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
        return _resolve_hub(repo_id, revision or "main", what=what, spec=text, sha256=None, offline=offline,
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
            _verify_sha256(folder / WEIGHTS_FILE, entry.sha256, what, discard=False)
        return folder
    if entry.repo_id:
        return _resolve_hub(entry.repo_id, entry.revision, what=what, spec=entry.name, sha256=entry.sha256,
                            offline=offline, cache_dir=cache_dir, progress=progress, downloading=downloading)
    raise ModelError(what, "no trained model is packaged with this version yet; pass -m with a model folder "
                           "or Hub id (see `vocal-remover models list`)")


def _check_folder(folder: Path, what: str) -> None:
    if (folder / "model.onnx").is_file() and (folder / MODEL_FILES[0]).is_file():
        return  # an exported ONNX model (run with onnxruntime, see vocal_remover.backends)
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelError(what, f"missing {' and '.join(missing)}; a model folder needs {' and '.join(MODEL_FILES)}")


def _looks_like_path(text: str) -> bool:
    return (text.startswith(("/", "./", "../", "~", ".\\", "..\\")) or "\\" in text or text.count("/") > 1
            or bool(re.match(r"^[A-Za-z]:", text)) or text.lower().endswith((".onnx", ".safetensors", ".json")))


def _resolve_hub(repo_id: str, revision: str, *, what: str, spec: str, sha256: str | None, offline: bool,
                 cache_dir, progress, downloading: bool) -> Path:
    cache = _hub_cache_dir(cache_dir)

    # A commit that is fully cached needs no network at all (commits are immutable).
    if _COMMIT_RE.match(revision):
        folder = _cached_snapshot(repo_id, revision, cache)
        if folder is not None:
            return _verified(folder, sha256, what)

    if offline:
        folder = _cached_snapshot(repo_id, revision, cache)
        if folder is None:
            if downloading:
                raise ModelError(what, "cannot download while offline (HF_HUB_OFFLINE is set); unset it and retry")
            raise ModelError(what, f"not in the local cache; run `vocal-remover models download {spec}` while online")
        return _verified(folder, sha256, what)

    import huggingface_hub as hf

    endpoint = _endpoint()
    timeout = _etag_timeout()
    where = f"{repo_id}@{revision[:12] if _COMMIT_RE.match(revision) else revision}"

    # Probe the first file without retries: errors come back at once (huggingface_hub itself
    # would retry an unreachable server with backoff for ~20 s before giving up), and when the
    # server cannot be reached a cached copy is used, as huggingface_hub does.
    try:
        url = hf.hf_hub_url(repo_id, MODEL_FILES[0], revision=revision, endpoint=endpoint)
        meta = hf.get_hf_file_metadata(url, timeout=timeout, **_endpoint_kwarg(hf.get_hf_file_metadata, endpoint))
    except Exception as exc:  # noqa: BLE001 - sorted out by _map_hub_error
        if _is_unreachable(exc):
            folder = _cached_snapshot(repo_id, revision, cache)
            if folder is not None:
                if progress:
                    progress(f"{_unreachable(exc, endpoint)}; using the cached copy of {where}")
                return _verified(folder, sha256, what)
            raise ModelError(what, _unreachable(exc, endpoint) + " and the model is not in the local cache; "
                                   "check your connection or HF_ENDPOINT, or try again later") from None
        raise _map_hub_error(exc, what, repo_id, revision, endpoint, spec=spec) from None

    if not getattr(meta, "commit_hash", None) or not getattr(meta, "etag", None):
        raise ModelError(what, f"{endpoint} does not answer like a Hugging Face Hub (no X-Repo-Commit/ETag "
                               "headers); check HF_ENDPOINT")

    # Up to date: the revision still points at the commit we have cached.
    folder = _cached_snapshot(repo_id, revision, cache)
    if folder is not None and folder.name == getattr(meta, "commit_hash", None):
        return _verified(folder, sha256, what)

    # Download: the first file at the requested revision (records branch/tag -> commit in the
    # cache for later offline use), the others at the commit it resolved to, so that all files
    # come from the same commit even if the branch moves meanwhile.
    commit = meta.commit_hash
    paths: dict[str, Path] = {}
    for index, filename in enumerate(MODEL_FILES + OPTIONAL_FILES):
        optional = filename in OPTIONAL_FILES
        rev = revision if index == 0 else commit
        cached = hf.try_to_load_from_cache(repo_id, filename, cache_dir=str(cache), revision=commit)
        if optional and cached is not None and not isinstance(cached, str):  # known not to exist
            continue
        if progress and not isinstance(cached, str):
            progress(f"Downloading {filename} from {where}")
        try:
            local = hf.hf_hub_download(repo_id, filename, revision=rev, cache_dir=str(cache), endpoint=endpoint,
                                       etag_timeout=timeout)
        except Exception as exc:  # noqa: BLE001
            error = _map_hub_error(exc, what, repo_id, revision, endpoint, spec=spec, filename=filename)
            if optional and isinstance(error, ModelError):
                continue  # an optional file that cannot be had (missing, server trouble) is skipped
            raise error from None
        paths[filename] = Path(local)
        if index == 0:
            commit = Path(local).parent.name
    folder = paths[MODEL_FILES[0]].parent
    return _verified(folder, sha256, what)


def _cached_snapshot(repo_id: str, revision: str, cache: Path) -> Path | None:
    """The cached snapshot folder of repo@revision holding all required files, or None. No network."""
    if not (cache / ("models--" + repo_id.replace("/", "--"))).is_dir():
        return None  # nothing cached: no need to import huggingface_hub
    from huggingface_hub import try_to_load_from_cache

    folder = None
    for filename in MODEL_FILES:
        try:
            found = try_to_load_from_cache(repo_id, filename, cache_dir=str(cache), revision=revision)
        except (ValueError, OSError):
            return None
        if not isinstance(found, str):
            return None
        parent = Path(found).parent
        if folder is not None and parent != folder:
            return None
        folder = parent
    return folder


def _verified(folder: Path, sha256: str | None, what: str) -> Path:
    if sha256:
        _verify_sha256(folder / WEIGHTS_FILE, sha256, what, discard=True)
    return folder


def _verify_sha256(path: Path, expected: str, what: str, *, discard: bool) -> None:
    actual = sha256_file(path)
    if actual.lower() == expected.lower():
        return
    if discard:
        _discard_cached(path)
    raise ModelError(what, f"checksum mismatch for {path.name}: expected {expected.lower()}, got {actual}; "
                           "the download is corrupt or the registry entry is wrong")


def _discard_cached(pointer: Path) -> None:
    """Remove a bad file from the Hugging Face cache (snapshot link and blob) so it is never used."""
    try:
        blob = pointer.resolve()
        pointer.unlink(missing_ok=True)
        if blob != pointer and blob.parent.name == "blobs":
            blob.unlink(missing_ok=True)
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# Environment (read at call time: huggingface_hub reads its constants once, at import)
# --------------------------------------------------------------------------------------------


def _env_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in _TRUE


def _endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).strip().rstrip("/")


def _etag_timeout() -> float:
    try:
        return float(os.environ.get("HF_HUB_ETAG_TIMEOUT") or DEFAULT_ETAG_TIMEOUT)
    except ValueError:
        return DEFAULT_ETAG_TIMEOUT


def _hub_cache_dir(cache_dir: str | Path | None) -> Path:
    def expand(value: str) -> Path:  # resolved, as huggingface_hub does: the same folder, the same path
        return Path(os.path.expandvars(os.path.expanduser(value))).resolve()

    if cache_dir is not None:
        return expand(os.fspath(cache_dir))
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return expand(os.environ[var])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "huggingface")
    return expand(home) / "hub"


def _endpoint_kwarg(func: Callable, endpoint: str) -> dict:
    import inspect

    try:
        return {"endpoint": endpoint} if "endpoint" in inspect.signature(func).parameters else {}
    except (TypeError, ValueError):
        return {}


# --------------------------------------------------------------------------------------------
# huggingface_hub errors -> one-line ModelErrors
# --------------------------------------------------------------------------------------------


def _hf_error(name: str) -> type | None:
    for module in ("huggingface_hub.errors", "huggingface_hub.utils"):
        try:
            mod = __import__(module, fromlist=[name])
        except ImportError:
            continue
        if hasattr(mod, name):
            return getattr(mod, name)
    return None


def _isinstance(exc: BaseException, *names: str) -> bool:
    return any((cls := _hf_error(name)) is not None and isinstance(exc, cls) for name in names)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _transport_errors() -> tuple[type, ...]:
    classes: list[type] = [ConnectionError, TimeoutError]
    for module, names in (("httpx2", ("TransportError",)), ("httpx", ("TransportError",)),
                          ("requests", ("ConnectionError", "Timeout"))):
        try:
            mod = __import__(module)
        except ImportError:
            continue
        classes += [getattr(mod, n) for n in names if hasattr(mod, n)]
    return tuple(classes)


def _is_unreachable(exc: BaseException) -> bool:
    """The server could not be reached or is failing (not: it answered that something is missing)."""
    if _isinstance(exc, "OfflineModeIsEnabled"):
        return True
    if _isinstance(exc, "RepositoryNotFoundError", "RevisionNotFoundError", "EntryNotFoundError"):
        return False
    if _isinstance(exc, "HfHubHTTPError"):
        status = _status(exc)
        return status is not None and (status >= 500 or status in (408, 429))
    return isinstance(exc, _transport_errors())


def _is_entry_not_found(exc: BaseException) -> bool:
    if _isinstance(exc, "LocalEntryNotFoundError"):
        return False
    return _isinstance(exc, "RemoteEntryNotFoundError", "EntryNotFoundError")


def _short_reason(exc: BaseException) -> str:
    status = _status(exc)
    if status is not None:
        return f"HTTP {status}"
    if _isinstance(exc, "OfflineModeIsEnabled"):
        return "offline mode is enabled"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "refused" in text.lower():
        return "connection refused"
    if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower() or "timed out" in text.lower():
        return "timed out"
    return text[:120]


def _unreachable(exc: BaseException, endpoint: str) -> str:
    status = _status(exc)
    if status is not None:
        return f"the Hub at {endpoint} answered HTTP {status}"
    return f"cannot reach {endpoint} ({_short_reason(exc)})"


def _map_hub_error(exc: BaseException, what: str, repo_id: str, revision: str, endpoint: str, *,
                   spec: str, filename: str | None = None) -> BaseException:
    """A one-line ModelError for an exception raised by huggingface_hub; unknown ones are returned as is."""
    where = f"{repo_id}@{revision[:12] if _COMMIT_RE.match(revision) else revision}"
    if _isinstance(exc, "GatedRepoError"):
        return ModelError(what, f"Hub repo {repo_id} is gated; accept its terms on the Hub and log in "
                                "(`hf auth login` or HF_TOKEN)")
    if _isinstance(exc, "RepositoryNotFoundError"):
        return ModelError(what, f"Hub repo {repo_id} not found at {endpoint}; check the id (private repos need "
                                "`hf auth login` or HF_TOKEN)")
    if _isinstance(exc, "RevisionNotFoundError"):
        return ModelError(what, f"revision '{revision}' not found in Hub repo {repo_id}; use an existing branch, "
                                "tag or full commit hash")
    if _isinstance(exc, "LocalEntryNotFoundError"):
        cause = exc.__cause__ or exc.__context__
        if cause is not None and not _isinstance(cause, "OfflineModeIsEnabled"):
            return ModelError(what, _unreachable(cause, endpoint) + " and the model is not in the local cache; "
                                    "check your connection or HF_ENDPOINT, or try again later")
        return ModelError(what, f"not in the local cache; run `vocal-remover models download {spec}` while online")
    if _isinstance(exc, "RemoteEntryNotFoundError", "EntryNotFoundError"):
        name = filename or "a required file"
        return ModelError(what, f"{name} is missing from {where}; it is not a vocal-remover model "
                                f"(a model needs {' and '.join(MODEL_FILES)})")
    if _isinstance(exc, "HFValidationError"):
        return ModelError(what, f"invalid Hub id or revision: {' '.join(str(exc).split())[:160]}")
    if _isinstance(exc, "HfHubHTTPError"):
        status = _status(exc)
        response = getattr(exc, "response", None)
        server = (getattr(response, "headers", None) or {}).get("X-Error-Message") if response is not None else None
        reason = f"HTTP {status}" if status is not None else "HTTP error"
        if server:
            reason += f": {' '.join(str(server).split())[:100]}"
        if status in (401, 403):
            return ModelError(what, f"access to {where} denied ({reason}); log in with `hf auth login` or set HF_TOKEN")
        if status == 404:
            return ModelError(what, f"{where} not found at {endpoint} ({reason}); check the id and HF_ENDPOINT")
        if status is not None and 400 <= status < 500:
            return ModelError(what, f"the Hub at {endpoint} refused the request for {where} ({reason})")
        return ModelError(what, f"the Hub at {endpoint} answered {reason} for {where}; try again later")
    if isinstance(exc, _transport_errors()) or _isinstance(exc, "OfflineModeIsEnabled"):
        return ModelError(what, f"{_unreachable(exc, endpoint)}; check your connection or HF_ENDPOINT")
    if isinstance(exc, OSError):
        # e.g. "Consistency check failed" (size mismatch), disk full, read-only cache.
        text = " ".join(str(exc).split())
        return ModelError(what, f"download of {where} failed: {text[:200]}")
    return exc
