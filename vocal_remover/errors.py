"""Errors a user can act on.

Every failure a user can cause (a bad file, a missing model, a bad option) is raised as a
`VocalRemoverError` whose message reads as `<what>: <why>`. The CLI prints it as one
`Error: ...` line; anything else is a bug and keeps its traceback.
"""


class VocalRemoverError(Exception):
    """Base class: `str(err)` is a complete one-line message for the user."""

    def __init__(self, what: str, why: str):
        self.what = str(what)
        self.why = str(why)
        super().__init__(f"{self.what}: {self.why}")


class AudioError(VocalRemoverError):
    """An input could not be decoded or an output could not be written."""


class ModelError(VocalRemoverError):
    """A model could not be found, downloaded, verified or loaded."""


class ConfigError(VocalRemoverError):
    """A configuration value is invalid."""


class DataError(VocalRemoverError):
    """A dataset or dataset cache is unusable (bad layout, missing or corrupt shard, no tracks)."""


class TrainingError(VocalRemoverError):
    """A run cannot usefully go on: its network has stopped learning."""
