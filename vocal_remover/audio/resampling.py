"""Sample-rate conversion, streamed block by block (soxr)."""

from __future__ import annotations

import numpy as np
import soxr

from vocal_remover.audio.channels import as_block

MODEL_RATE = 44100  # the rate the models work at: every input is resampled to it


class Resampler:
    """Streaming sample-rate converter (soxr.ResampleStream, quality "HQ"); a plain copy when
    the rates match.

    Guarantees (tested): feeding a signal in any block sizes gives the same samples as one
    call (soxr is deterministic; measured difference 0), and after `process(..., last=True)`
    the total output length is exactly `expected_length(total_input)`, i.e.
    floor(n_in * out_rate / in_rate + 1/2) (round half up; this is what soxr produces, and
    the class pads/trims the final block should it ever differ). Blocks are (n, channels)
    float32; output blocks may be empty while the filter fills.
    """

    def __init__(self, in_rate: int, out_rate: int, channels: int, quality: str = "HQ"):
        if in_rate <= 0 or out_rate <= 0 or channels <= 0:
            raise ValueError(f"invalid resampler setup: {in_rate} -> {out_rate} Hz, {channels} channels")
        self.in_rate = int(in_rate)
        self.out_rate = int(out_rate)
        self.channels = int(channels)
        self.passthrough = self.in_rate == self.out_rate
        self._stream = (
            None
            if self.passthrough
            else soxr.ResampleStream(self.in_rate, self.out_rate, self.channels, dtype="float32", quality=quality)
        )
        self._n_in = 0
        self._n_out = 0
        self._finished = False

    def expected_length(self, n_in: int) -> int:
        """Output frames for `n_in` input frames: round half up of n_in * out / in."""
        return (2 * n_in * self.out_rate + self.in_rate) // (2 * self.in_rate)

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        if self._finished:
            raise RuntimeError("Resampler already received its last block")
        block = as_block(block, self.channels)
        self._finished = last
        self._n_in += len(block)
        if self._stream is None:
            out = block.copy()
        else:
            out = self._stream.resample_chunk(np.ascontiguousarray(block), last=last)
            out = out.reshape(-1, self.channels)
            if last:
                target = self.expected_length(self._n_in) - self._n_out
                if len(out) > target:
                    out = out[: max(target, 0)]
                elif len(out) < target:
                    out = np.concatenate([out, np.zeros((target - len(out), self.channels), np.float32)])
        self._n_out += len(out)
        return out
