"""Optimisers for the numpy networks: plain SGD (with the reference's multiplicative weight decay)
and Adam. Both update a dict of arrays in place and can save and restore their state."""

from __future__ import annotations

import numpy as np

__all__ = ["SGD", "Adam", "make_optimizer"]


class SGD:
    """Plain stochastic gradient descent, with multiplicative weight decay.

    Each :meth:`step` updates every array in place as p ← (1 − weight_decay) · p − lr · g (Reddy,
    ICLR 2024, Sec. 2: weight decay 1e-6 applied this way). SGD keeps no state: its
    :meth:`state_dict` is empty.

    Parameters
    ----------
    lr : float
        The step size, > 0. :func:`~phenom.nets.training.train` sets ``lr`` before every step
        from its schedule.
    weight_decay : float, default 0.0
        The fraction by which every weight shrinks at each step, from 0 (none) to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.optim import SGD
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> SGD(lr=0.1, weight_decay=0.5).step(params, {"w": np.array([1.0, 1.0])})
    >>> [round(float(x), 4) for x in params["w"]]  # 0.5 · 1 − 0.1 and 0.5 · (−2) − 0.1
    [0.4, -1.1]
    """

    def __init__(self, lr: float, weight_decay: float = 0.0):
        self.lr, self.weight_decay = lr, weight_decay

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place with its gradient in ``grads`` (same keys)."""
        for name, p in params.items():
            if self.weight_decay:
                p *= 1 - self.weight_decay
            p -= self.lr * grads[name]

    def state_dict(self) -> dict:
        """The optimiser's state for a checkpoint: none for SGD."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict` (nothing to restore for SGD)."""


class Adam:
    """Adam (Kingma & Ba, ICLR 2015) with bias correction; weight decay multiplicative as in :class:`SGD`.

    Per array, with t the number of steps taken: m ← β₁ m + (1 − β₁) g, v ← β₂ v + (1 − β₂) g²,
    then p ← (1 − weight_decay) · p − lr · m̂ / (sqrt(v̂) + eps), m̂ = m / (1 − β₁ᵗ),
    v̂ = v / (1 − β₂ᵗ). The moments and t are the state a checkpoint saves (:meth:`state_dict`).

    Parameters
    ----------
    lr : float
        The step size, > 0 (:func:`~phenom.nets.training.train` sets ``lr`` before every step).
    betas : tuple of two floats, default (0.9, 0.999)
        The decay rates β₁, β₂ of the first and second moments, each in [0, 1).
    eps : float, default 1e-8
        Added to sqrt(v̂) in the denominator, > 0.
    weight_decay : float, default 0.0
        The fraction by which every weight shrinks at each step, from 0 (none) to 1.

    Examples
    --------
    Adam's first step moves every weight by about ``lr`` against the sign of its gradient:

    >>> import numpy as np
    >>> from phenom.nets.optim import Adam
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> opt = Adam(lr=0.1)
    >>> opt.step(params, {"w": np.array([0.5, -30.0])})
    >>> [round(float(x), 4) for x in params["w"]], opt.state_dict()["t"]
    ([0.9, -1.9], 1)
    """

    def __init__(self, lr: float, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place with its gradient in ``grads`` (same keys)."""
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
        """Copies of the step count ``t`` and the moments ``m`` and ``v`` (dicts of arrays)."""
        return {
            "t": self.t,
            "m": {k: v.copy() for k, v in self.m.items()},
            "v": {k: v.copy() for k, v in self.v.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict` (copied, so the two stay independent)."""
        self.t = int(state["t"])
        self.m = {k: np.array(v) for k, v in state["m"].items()}
        self.v = {k: np.array(v) for k, v in state["v"].items()}


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, lr: float, weight_decay: float = 0.0):
    """The optimiser named ``"sgd"`` or ``"adam"``, with Adam's other settings at their defaults.

    Parameters
    ----------
    name : str
        ``"sgd"`` (:class:`SGD`) or ``"adam"`` (:class:`Adam`); anything else is a ValueError
        naming the choices.
    lr : float
        The step size, > 0.
    weight_decay : float, default 0.0
        The multiplicative weight decay per step, from 0 to 1.

    Returns
    -------
    SGD or Adam
        A new optimiser, with no state yet.

    Examples
    --------
    >>> from phenom.nets.optim import make_optimizer
    >>> opt = make_optimizer("adam", 0.01)
    >>> type(opt).__name__, opt.lr, opt.betas
    ('Adam', 0.01, (0.9, 0.999))
    >>> make_optimizer("rmsprop", 0.01)
    Traceback (most recent call last):
        ...
    ValueError: optimizer must be one of ['adam', 'sgd'], got 'rmsprop'
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](lr, weight_decay=weight_decay)
