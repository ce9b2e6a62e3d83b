"""huggingface_hub's exceptions as one-line `ModelError`s, for downloads and for pushes.

The exception classes are looked up by name (they moved between huggingface_hub releases), and only
when an error is being mapped: importing this module does not import huggingface_hub.
"""

from __future__ import annotations

from vocal_remover.artifacts.format import MODEL_FILES
from vocal_remover.errors import ModelError
from vocal_remover.hub.registry import COMMIT_RE


def _hf_error_class(name: str) -> type | None:
    for module in ("huggingface_hub.errors", "huggingface_hub.utils"):
        try:
            mod = __import__(module, fromlist=[name])
        except ImportError:
            continue
        if hasattr(mod, name):
            return getattr(mod, name)
    return None


def _is_hf(exc: BaseException, *names: str) -> bool:
    return any((cls := _hf_error_class(name)) is not None and isinstance(exc, cls) for name in names)


def status_code(exc: BaseException) -> int | None:
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


def is_unreachable(exc: BaseException) -> bool:
    """The server could not be reached or is failing (not: it answered that something is missing)."""
    if _is_hf(exc, "OfflineModeIsEnabled"):
        return True
    if _is_hf(exc, "RepositoryNotFoundError", "RevisionNotFoundError", "EntryNotFoundError"):
        return False
    if _is_hf(exc, "HfHubHTTPError"):
        status = status_code(exc)
        return status is not None and (status >= 500 or status in (408, 429))
    return isinstance(exc, _transport_errors())


def _short_reason(exc: BaseException) -> str:
    status = status_code(exc)
    if status is not None:
        return f"HTTP {status}"
    if _is_hf(exc, "OfflineModeIsEnabled"):
        return "offline mode is enabled"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "refused" in text.lower():
        return "connection refused"
    if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower() or "timed out" in text.lower():
        return "timed out"
    return text[:120]


def unreachable_text(exc: BaseException, endpoint: str) -> str:
    status = status_code(exc)
    if status is not None:
        return f"the Hub at {endpoint} answered HTTP {status}"
    return f"cannot reach {endpoint} ({_short_reason(exc)})"


def _http_reason(exc: BaseException) -> str:
    """"HTTP 403", with the server's own one-line explanation (X-Error-Message) when it gave one."""
    status = status_code(exc)
    response = getattr(exc, "response", None)
    server = (getattr(response, "headers", None) or {}).get("X-Error-Message") if response is not None else None
    reason = f"HTTP {status}" if status is not None else "HTTP error"
    return reason + (f": {' '.join(str(server).split())[:100]}" if server else "")


def map_download_error(exc: BaseException, what: str, repo_id: str, revision: str, endpoint: str, *,
                       spec: str, filename: str | None = None) -> BaseException:
    """A one-line ModelError for an exception raised by huggingface_hub while resolving or downloading a
    model; unknown ones are returned as is."""
    where = f"{repo_id}@{revision[:12] if COMMIT_RE.match(revision) else revision}"
    if _is_hf(exc, "GatedRepoError"):
        return ModelError(what, f"Hub repo {repo_id} is gated; accept its terms on the Hub and log in "
                                "(`hf auth login` or HF_TOKEN)")
    if _is_hf(exc, "RepositoryNotFoundError"):
        return ModelError(what, f"Hub repo {repo_id} not found at {endpoint}; check the id (private repos need "
                                "`hf auth login` or HF_TOKEN)")
    if _is_hf(exc, "RevisionNotFoundError"):
        return ModelError(what, f"revision '{revision}' not found in Hub repo {repo_id}; use an existing branch, "
                                "tag or full commit hash")
    if _is_hf(exc, "LocalEntryNotFoundError"):
        cause = exc.__cause__ or exc.__context__
        if cause is not None and not _is_hf(cause, "OfflineModeIsEnabled"):
            return ModelError(what, unreachable_text(cause, endpoint) + " and the model is not in the local cache; "
                                    "check your connection or HF_ENDPOINT, or try again later")
        return ModelError(what, f"not in the local cache; run `vocal-remover models download {spec}` while online")
    if _is_hf(exc, "RemoteEntryNotFoundError", "EntryNotFoundError"):
        name = filename or "a required file"
        return ModelError(what, f"{name} is missing from {where}; it is not a vocal-remover model "
                                f"(a model needs {' and '.join(MODEL_FILES)})")
    if _is_hf(exc, "HFValidationError"):
        return ModelError(what, f"invalid Hub id or revision: {' '.join(str(exc).split())[:160]}")
    if _is_hf(exc, "HfHubHTTPError"):
        status, reason = status_code(exc), _http_reason(exc)
        if status in (401, 403):
            return ModelError(what, f"access to {where} denied ({reason}); log in with `hf auth login` or set HF_TOKEN")
        if status == 404:
            return ModelError(what, f"{where} not found at {endpoint} ({reason}); check the id and HF_ENDPOINT")
        if status is not None and 400 <= status < 500:
            return ModelError(what, f"the Hub at {endpoint} refused the request for {where} ({reason})")
        return ModelError(what, f"the Hub at {endpoint} answered {reason} for {where}; try again later")
    if isinstance(exc, _transport_errors()) or _is_hf(exc, "OfflineModeIsEnabled"):
        return ModelError(what, f"{unreachable_text(exc, endpoint)}; check your connection or HF_ENDPOINT")
    if isinstance(exc, OSError):
        # e.g. "Consistency check failed" (size mismatch), disk full, read-only cache.
        text = " ".join(str(exc).split())
        return ModelError(what, f"download of {where} failed: {text[:200]}")
    return exc


def map_push_error(exc: BaseException, repo_id: str, endpoint: str) -> BaseException:
    """A one-line ModelError for an exception raised while pushing to `repo_id`; unknown ones are returned
    as is."""
    what = f"push to {repo_id}"
    status = status_code(exc)
    if is_unreachable(exc) and status is None:
        return ModelError(what, f"{unreachable_text(exc, endpoint)}; check your connection or HF_ENDPOINT")
    if status in (401, 403):
        return ModelError(what, f"access denied (HTTP {status}); log in with `hf auth login` or set HF_TOKEN "
                                "(a token with write access)")
    if status is not None:
        return ModelError(what, f"the Hub at {endpoint} refused it ({_http_reason(exc)})")
    if isinstance(exc, (OSError, ValueError, RuntimeError)):
        return ModelError(what, f"upload failed: {' '.join(str(exc).split())[:200]}")
    return exc
