"""Optimisers for the numpy networks: plain SGD (with the reference's multiplicative weight decay)
and Adam. Both update a dict of arrays in place and can save and restore their state."""

from __future__ import annotations

import numpy as np

__all__ = ["SGD", "Adam", "make_optimizer"]


class SGD:
    """p ← (1 − weight_decay) · p − lr · g  (Reddy, ICLR 2024, Sec. 2: weight decay 1e-6 applied this way)."""

    def __init__(self, lr: float, weight_decay: float = 0.0):
        self.lr, self.weight_decay = lr, weight_decay

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, p in params.items():
            if self.weight_decay:
                p *= 1 - self.weight_decay
            p -= self.lr * grads[name]

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class Adam:
    """Adam (Kingma & Ba) with bias correction; weight decay multiplicative as in :class:`SGD`."""

    def __init__(self, lr: float, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        b1, b2 = self.betas
        self.t += 1
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for name, p in params.items():
            g = grads[name]
            m = self.m.setdefault(name, np.zeros_like(p))
            v = self.v.setdefault(name, np.zeros_like(p))
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            if self.weight_decay:
                p *= 1 - self.weight_decay
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)

    def state_dict(self) -> dict:
        return {
            "t": self.t,
            "m": {k: v.copy() for k, v in self.m.items()},
            "v": {k: v.copy() for k, v in self.v.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.t = int(state["t"])
        self.m = {k: np.array(v) for k, v in state["m"].items()}
        self.v = {k: np.array(v) for k, v in state["v"].items()}


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, lr: float, weight_decay: float = 0.0):
    """``"sgd"`` or ``"adam"``; a ValueError names the allowed choices."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](lr, weight_decay=weight_decay)
