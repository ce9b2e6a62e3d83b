"""Where a run's records go: RUN/metrics.jsonl (one JSON object per line), and TensorBoard and W&B
when asked for. Only rank 0 writes; elsewhere a RunLog takes records and drops them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vocal_remover.errors import ConfigError
from vocal_remover.train.config import TrainConfig


def require_run_dir(run_dir: Path) -> None:
    """A run folder deleted under a live run is the user's doing: say so in one line instead of a traceback
    from whichever write notices first (the metrics log or a checkpoint)."""
    if not run_dir.is_dir():
        raise ConfigError(f"run folder {run_dir}", "was removed while training; nothing more can be saved there")


class RunLog:
    def __init__(self, run_dir: Path, cfg: TrainConfig, *, writes: bool):
        self.path = run_dir / "metrics.jsonl" if writes else None
        self.tb = self.wandb = None
        if writes and cfg.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(run_dir / "tensorboard"))
        if writes and cfg.wandb:
            import wandb

            self.wandb = wandb.init(project="vocal-remover", dir=str(run_dir), config=cfg.to_dict(),
                                    mode=os.environ.get("WANDB_MODE", "offline"))

    def write(self, record: dict[str, Any]) -> None:
        """A record with "kind" (train, skip, plan, validation) and "step"; numbers go to the other sinks too."""
        if self.path is None:
            return
        require_run_dir(self.path.parent)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key not in ("step",):
                    self.tb.add_scalar(f"{record.get('kind', 'train')}/{key}", value, record["step"])
        if self.wandb is not None:
            self.wandb.log({k: v for k, v in record.items() if isinstance(v, (int, float))}, step=record["step"])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
        if self.wandb is not None:
            self.wandb.finish()
