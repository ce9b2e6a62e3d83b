"""Deterministic randomness for datasets and samplers.

Every random choice a dataset makes for item `index` of `epoch` comes from `item_rng(seed, epoch, index)`,
never from global or per-worker state, so an item is the same with any number of DataLoader workers,
on any DDP rank, and after a resume.
"""

from __future__ import annotations

import numpy as np
from torch.utils.data import Sampler


def item_rng(seed: int, epoch: int, index: int, stream: int = 0) -> np.random.Generator:
    """The generator for one item: a pure function of (seed, epoch, index, stream)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, epoch, index, stream])))


def _check_non_negative(**values: int) -> None:
    for name, v in values.items():
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")


class EpochSampler(Sampler[int]):
    """A permutation of range(length) seeded by (seed, epoch), split disjointly across DDP ranks.

    Rank r gets positions r, r + world_size, ... of the permutation. With drop_last the permutation is
    cut to a multiple of world_size (every rank gets length // world_size indices, none repeated);
    without it, it is padded by wrapping around (ceil(length / world_size) each; a few indices are seen
    twice, as in torch's DistributedSampler). `set_epoch(epoch, start_index)` starts the rank's list at
    `start_index` for an exact mid-epoch resume; len() counts what is left.
    """

    def __init__(self, length: int, *, seed: int, rank: int = 0, world_size: int = 1, drop_last: bool = True):
        _check_non_negative(length=length, seed=seed, rank=rank)
        if world_size < 1 or rank >= world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank {rank}, world_size {world_size}")
        self.length, self.seed, self.rank, self.world_size = int(length), int(seed), int(rank), int(world_size)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self.start_index = 0

    @property
    def per_rank(self) -> int:
        if self.drop_last:
            return self.length // self.world_size
        return -(-self.length // self.world_size)

    def set_epoch(self, epoch: int, start_index: int = 0) -> None:
        _check_non_negative(epoch=epoch, start_index=start_index)
        if start_index > self.per_rank:
            raise ValueError(f"start_index {start_index} is past this rank's {self.per_rank} indices")
        self.epoch, self.start_index = int(epoch), int(start_index)

    def rank_indices(self) -> list[int]:
        """This rank's whole list for the current epoch (ignoring start_index)."""
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, self.epoch, 0x5A3B1E])))
        perm = rng.permutation(self.length)
        total = self.per_rank * self.world_size
        if total > len(perm):  # pad by wrapping around
            perm = np.concatenate([perm] * (-(-total // max(len(perm), 1))))
        perm = perm[:total]
        return perm[self.rank:total:self.world_size].tolist()

    def __iter__(self):
        return iter(self.rank_indices()[self.start_index:])

    def __len__(self) -> int:
        return self.per_rank - self.start_index
