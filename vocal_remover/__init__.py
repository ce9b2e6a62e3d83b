"""vocal-remover: split songs into instrumental and vocals with the frame primer.

Kept import-light on purpose: `vocal-remover --help` must not import torch.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
