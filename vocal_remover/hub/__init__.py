"""Finding model folders (local paths, the model registry, the Hugging Face Hub) and publishing them.

`resolve_model(spec)` turns what the user passed with `-m` into a local folder holding `config.json` +
`model.safetensors` (+ optional `README.md`); loading it is vocal_remover.artifacts' job.
`push_to_hub(folder, repo_id)` uploads a model folder and returns the commit to pin.

    resolve.py      resolve_model, download_model, list_models: what a spec names
    registry.py     the registry of model names (built-in registry.json + VOCAL_REMOVER_REGISTRY)
    download.py     a model's files from the Hub, all from one commit
    cache.py        the local Hugging Face cache: snapshots and checksums
    push.py         push_to_hub
    hf_errors.py    huggingface_hub's exceptions as one-line ModelErrors
    environment.py  HF_ENDPOINT, HF_HUB_OFFLINE, HF_HUB_CACHE / HF_HOME, HF_HUB_ETAG_TIMEOUT, read at call time

Kept import-light: `huggingface_hub` is imported inside the functions that need it, so
`import vocal_remover.hub` (and the CLI's `--help`) stays fast.
"""

from vocal_remover.hub.push import PushResult, push_to_hub
from vocal_remover.hub.registry import RegistryEntry, load_registry
from vocal_remover.hub.resolve import download_model, list_models, resolve_model

__all__ = ["PushResult", "RegistryEntry", "download_model", "list_models", "load_registry", "push_to_hub",
           "resolve_model"]
