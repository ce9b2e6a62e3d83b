"""`push_to_hub`: a model folder uploaded to a Hub repo in one commit, returned as the commit to pin."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from vocal_remover import __version__
from vocal_remover.artifacts.format import CARD_NAME, MODEL_FILES
from vocal_remover.errors import ConfigError, ModelError
from vocal_remover.hub.environment import hub_endpoint
from vocal_remover.hub.hf_errors import map_push_error
from vocal_remover.hub.registry import COMMIT_RE, REPO_ID_RE


@dataclass
class PushResult:
    repo_id: str
    revision: str  # the branch pushed to
    commit: str  # 40-hex commit hash: pin it as ORG/NAME@<commit>
    url: str

    @property
    def spec(self) -> str:
        return f"{self.repo_id}@{self.commit}"


def push_to_hub(folder: str | Path, repo_id: str, *, revision: str | None = None, private: bool = False,
                token: str | None = None, commit_message: str | None = None) -> PushResult:
    """Upload a model folder (config.json, model.safetensors, README.md) to the Hub repo `repo_id`
    (created if needed, private if asked; an existing repo keeps its visibility) on branch `revision`
    (default main; created from main if missing) in one commit. Returns the commit to pin.

    Uses huggingface_hub's HfApi with HF_ENDPOINT / HF_TOKEN; file contents go through Xet when
    `hf_xet` is installed, else through the LFS protocol.
    """
    folder = Path(folder)
    if not REPO_ID_RE.match(repo_id or ""):
        raise ConfigError(f"--push-to-hub '{repo_id}'", "expected a Hub id like org/name")
    if revision is not None and (not revision.strip() or COMMIT_RE.match(revision)):
        raise ConfigError(f"--revision '{revision}'", "expected a branch name")
    missing = [n for n in MODEL_FILES if not (folder / n).is_file()]
    if missing:
        raise ModelError(str(folder), f"not a model folder (missing {' and '.join(missing)}); only model folders "
                                      "can be pushed: `separate` downloads those")
    import huggingface_hub as hf

    endpoint = hub_endpoint()
    branch = revision or "main"
    api = hf.HfApi(endpoint=endpoint, token=token)
    operations = [hf.CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(folder / name))
                  for name in (*MODEL_FILES, CARD_NAME) if (folder / name).is_file()]
    bars_were_off = hf.utils.are_progress_bars_disabled()
    hf_logger = logging.getLogger("huggingface_hub")
    level = hf_logger.level
    hf.utils.disable_progress_bars()  # the library never prints
    hf_logger.setLevel(logging.ERROR)
    try:
        api.create_repo(repo_id, private=True if private else None, exist_ok=True)
        if branch != "main":
            api.create_branch(repo_id, branch=branch, exist_ok=True)
        info = api.create_commit(repo_id, operations=operations, revision=branch,
                                 commit_message=commit_message or f"Upload vocal-remover model ({__version__})")
    except Exception as exc:  # noqa: BLE001 - mapped to one-line errors
        raise map_push_error(exc, repo_id, endpoint) from None
    finally:
        hf_logger.setLevel(level)
        if not bars_were_off:
            hf.utils.enable_progress_bars()
    return PushResult(repo_id, branch, info.oid, info.commit_url)
