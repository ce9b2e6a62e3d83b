"""Finetuning strategies: which parameters train, and at which learning rate.

The seed planned these and never built them (it froze the encoders unconditionally):
  full              everything trains
  freeze-encoders   conv encoders and primer encoders frozen
  transformer-only  only the primer modules (encoders and decoders) train
  last-n-decoders   only the last N levels of the decoder path (nearest the output) and the output layer
  llrd              everything trains; layer k of L (input to output) gets lr * decay^(L - 1 - k)
  freeze-linear     the linear layers of attention and feed-forward blocks (93% of the default model's parameters)
                    frozen; convolutions, norms, channel bottlenecks, position tables and depthwise convs train
"""

from __future__ import annotations

from torch import nn

from vocal_remover.errors import ConfigError
from vocal_remover.model.attention import MultibandFrameAttention
from vocal_remover.model.frame_primer import FramePrimer, SquaredReluFeedForward


def _layers(model: FramePrimer) -> list[list[nn.Module]]:
    """The network as an input-to-output list of layers (each a list of modules)."""
    depth = model.config.depth
    layers = [[model.encoders[i], model.primer_encoders[i]] for i in range(depth)]
    for i in reversed(range(depth)):
        layer = [model.primer_decoders[i]]
        if i > 0:
            layer.append(model.decoders[i - 1])
        layers.append(layer)
    layers.append([model.out])
    return layers


def _params(modules) -> list[nn.Parameter]:
    return [p for m in modules for p in m.parameters()]


def param_groups(model: nn.Module, strategy: str, lr: float, weight_decay: float, *, llrd_decay: float = 0.8,
                 last_n: int = 1) -> list[dict]:
    """AdamW parameter groups for a strategy; frozen parameters get requires_grad=False.

    Norm weights and biases are not decayed."""
    if strategy != "full" and not isinstance(model, FramePrimer):
        raise ConfigError(f"--strategy {strategy}", "only 'full' is available for this architecture")
    for p in model.parameters():
        p.requires_grad_(True)

    if strategy == "full":
        groups = [(list(model.parameters()), lr)]
    elif strategy == "llrd":
        layers = _layers(model)
        groups = [(_params(layer), lr * llrd_decay ** (len(layers) - 1 - k)) for k, layer in enumerate(layers)]
    else:
        if strategy == "freeze-linear":  # all but the projections of attention layers and feed-forward blocks
            frozen = {id(p) for m in model.modules() if isinstance(m, (MultibandFrameAttention, SquaredReluFeedForward))
                      for sub in m.modules() if isinstance(sub, nn.Linear) for p in sub.parameters()}
            train = [p for p in model.parameters() if id(p) not in frozen]
        elif strategy == "freeze-encoders":
            train = _params(m for m in model.children() if m not in (model.encoders, model.primer_encoders))
        elif strategy == "transformer-only":
            train = _params([model.primer_encoders, model.primer_decoders])
        else:  # last-n-decoders
            depth = model.config.depth
            if not 1 <= last_n <= depth:
                raise ConfigError(f"--last-n {last_n}", f"must be between 1 and the model's depth {depth}")
            train = _params(m for layer in _layers(model)[-(last_n + 1):] for m in layer)
        trainable = {id(p) for p in train}
        for p in model.parameters():
            p.requires_grad_(id(p) in trainable)
        groups = [([p for p in model.parameters() if id(p) in trainable], lr)]

    out = []
    for params, group_lr in groups:
        decay = [p for p in params if p.requires_grad and p.ndim > 1]
        no_decay = [p for p in params if p.requires_grad and p.ndim <= 1]
        if decay:
            out.append({"params": decay, "lr": group_lr, "weight_decay": weight_decay})
        if no_decay:
            out.append({"params": no_decay, "lr": group_lr, "weight_decay": 0.0})
    if not out:
        raise ConfigError(f"--strategy {strategy}", "leaves no parameter to train")
    return out
