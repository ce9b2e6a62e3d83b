"""Fetching a model's files from the Hub into the Hugging Face cache, all from one commit.

`huggingface_hub` is imported here only when the network is used, so the hub package stays import-light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from vocal_remover.artifacts.format import CARD_NAME, MODEL_FILES
from vocal_remover.errors import ModelError
from vocal_remover.hub.cache import cached_snapshot, verified
from vocal_remover.hub.environment import endpoint_kwarg, etag_timeout, hub_cache_dir, hub_endpoint
from vocal_remover.hub.hf_errors import is_unreachable, map_download_error, unreachable_text
from vocal_remover.hub.registry import COMMIT_RE

OPTIONAL_FILES = (CARD_NAME,)  # fetched when the repo has it


def resolve_hub(repo_id: str, revision: str, *, what: str, spec: str, sha256: str | None, offline: bool,
                cache_dir: str | Path | None, progress: Callable[[str], None] | None, downloading: bool) -> Path:
    """The local snapshot folder of repo_id@revision: from the cache when it is current (or the Hub cannot be
    reached, or `offline`), else downloaded. `sha256` (of the weights) is checked when given."""
    cache = hub_cache_dir(cache_dir)

    # A commit that is fully cached needs no network at all (commits are immutable).
    if COMMIT_RE.match(revision):
        folder = cached_snapshot(repo_id, revision, cache)
        if folder is not None:
            return verified(folder, sha256, what)

    if offline:
        folder = cached_snapshot(repo_id, revision, cache)
        if folder is None:
            if downloading:
                raise ModelError(what, "cannot download while offline (HF_HUB_OFFLINE is set); unset it and retry")
            raise ModelError(what, f"not in the local cache; run `vocal-remover models download {spec}` while online")
        return verified(folder, sha256, what)

    import huggingface_hub as hf

    endpoint = hub_endpoint()
    timeout = etag_timeout()
    where = f"{repo_id}@{revision[:12] if COMMIT_RE.match(revision) else revision}"

    # Probe the first file without retries: errors come back at once (huggingface_hub itself
    # would retry an unreachable server with backoff for ~20 s before giving up), and when the
    # server cannot be reached a cached copy is used, as huggingface_hub does.
    try:
        url = hf.hf_hub_url(repo_id, MODEL_FILES[0], revision=revision, endpoint=endpoint)
        meta = hf.get_hf_file_metadata(url, timeout=timeout, **endpoint_kwarg(hf.get_hf_file_metadata, endpoint))
    except Exception as exc:  # noqa: BLE001 - sorted out by map_download_error
        if is_unreachable(exc):
            folder = cached_snapshot(repo_id, revision, cache)
            if folder is not None:
                if progress:
                    progress(f"{unreachable_text(exc, endpoint)}; using the cached copy of {where}")
                return verified(folder, sha256, what)
            raise ModelError(what, unreachable_text(exc, endpoint) + " and the model is not in the local cache; "
                                   "check your connection or HF_ENDPOINT, or try again later") from None
        raise map_download_error(exc, what, repo_id, revision, endpoint, spec=spec) from None

    if not getattr(meta, "commit_hash", None) or not getattr(meta, "etag", None):
        raise ModelError(what, f"{endpoint} does not answer like a Hugging Face Hub (no X-Repo-Commit/ETag "
                               "headers); check HF_ENDPOINT")

    # Up to date: the revision still points at the commit we have cached.
    folder = cached_snapshot(repo_id, revision, cache)
    if folder is not None and folder.name == getattr(meta, "commit_hash", None):
        return verified(folder, sha256, what)

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
            error = map_download_error(exc, what, repo_id, revision, endpoint, spec=spec, filename=filename)
            if optional and isinstance(error, ModelError):
                continue  # an optional file that cannot be had (missing, server trouble) is skipped
            raise error from None
        paths[filename] = Path(local)
        if index == 0:
            commit = Path(local).parent.name
    folder = paths[MODEL_FILES[0]].parent
    return verified(folder, sha256, what)
