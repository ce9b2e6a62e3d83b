"""Options of the commands that run a model over audio (`separate`, `evaluate`): how and where it runs."""

from __future__ import annotations

import typer

DEVICE = typer.Option("auto", "--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps.")
PRECISION = typer.Option("auto", "--precision", metavar="PRECISION", help="auto, fp32, bf16 or fp16 (autocast).")
BATCH_SIZE = typer.Option(None, "--batch-size", "-b", min=1, metavar="N", show_default=False,
                          help="Windows per forward pass (default 1 on CPU, 4 otherwise).")
WINDOW = typer.Option(None, "--window", "-w", min=8, metavar="FRAMES", show_default=False,
                      help="Most frames per model window (default min(512, the model's max_cropsize)); shorter "
                           "files get shorter windows.")
OVERLAP = typer.Option(0.125, "--overlap", min=0.0, max=0.75, metavar="F",
                       help="Fraction of a window shared with the next (cross-faded).")
SWAP_CHANNELS = typer.Option(None, "--swap-channels/--no-swap-channels", show_default=False,
                             help="Also separate with left and right swapped and average the two masks (+0.1 dB; "
                                  "1.2x the time on a GPU, 1.8x on the CPU; mono input skips it). Default: on "
                                  "for a GPU, off on the CPU.")
TTA = typer.Option(False, "--tta", help="Shifted-window test-time augmentation (2x time).")
SHIFTS = typer.Option(1, "--shifts", min=1, max=100,
                      help="Passes over randomly shifted windows, averaged (N times the time).")
OFFLINE = typer.Option(False, "--offline", help="Never touch the network; use cached models.")
