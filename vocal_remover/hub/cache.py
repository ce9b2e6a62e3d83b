"""The local Hugging Face cache: a commit's complete snapshot, and checksums of what it holds."""

from __future__ import annotations

from pathlib import Path

from vocal_remover.artifacts.format import MODEL_FILES, WEIGHTS_NAME
from vocal_remover.atomic import sha256_file
from vocal_remover.errors import ModelError


def cached_snapshot(repo_id: str, revision: str, cache: Path) -> Path | None:
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


def verified(folder: Path, sha256: str | None, what: str) -> Path:
    """`folder`, once its weights match `sha256` (when given); a mismatching cached file is discarded."""
    if sha256:
        verify_sha256(folder / WEIGHTS_NAME, sha256, what, discard=True)
    return folder


def verify_sha256(path: Path, expected: str, what: str, *, discard: bool) -> None:
    """ModelError unless the file's SHA-256 is `expected`; with `discard`, a mismatching cached file goes."""
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
