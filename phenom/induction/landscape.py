"""The loss of the β, α, ξ model on a 2-D slice of parameter space, with the flow's path.

>>> from phenom import InductionHeadModel
>>> m = InductionHeadModel(N=8, L=32)
>>> s = loss_slice(m, x=("alpha", 0, 8), y=("beta", 0, 6), fixed=5.0, n=5)
>>> s.loss.shape, s.fixed
((5, 5), ('xi', 5.0))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phenom import _validate
from phenom.induction.model import PARAMETERS, InductionHeadModel

__all__ = ["Slice", "loss_slice"]


@dataclass(frozen=True)
class Slice:
    """Loss on a grid: ``loss[i, j]`` at ``(x_name = x[j], y_name = y[i])``, third parameter fixed."""

    x_name: str
    y_name: str
    x: np.ndarray
    y: np.ndarray
    fixed: tuple[str, float]
    loss: np.ndarray
    N: int
    L: int

    def theta(self, x, y) -> np.ndarray:
        """Full (β, α, ξ) of slice coordinates (x, y), shape (..., 3)."""
        return _full_theta(self.x_name, self.y_name, self.fixed, x, y)

    def project(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """Slice coordinates (x, y) of points θ of shape (..., 3), e.g. a flow's path."""
        theta = np.asarray(theta, dtype=float)
        return theta[..., PARAMETERS.index(self.x_name)], theta[..., PARAMETERS.index(self.y_name)]

    def to_dict(self) -> dict:
        return {
            "N": self.N,
            "L": self.L,
            "x_name": self.x_name,
            "y_name": self.y_name,
            "fixed": {self.fixed[0]: self.fixed[1]},
            "x": self.x.tolist(),
            "y": self.y.tolist(),
            "loss": self.loss.tolist(),
        }


def loss_slice(
    model: InductionHeadModel,
    x: tuple[str, float, float] = ("alpha", 0.0, 8.0),
    y: tuple[str, float, float] = ("beta", 0.0, 6.0),
    fixed: float = 0.0,
    n: int = 201,
) -> Slice:
    """Evaluate the loss on an ``n × n`` grid over two of (β, α, ξ); the third equals ``fixed``.

    ``x`` and ``y`` are ``(name, low, high)`` with distinct names from ``PARAMETERS``.
    """
    (xn, x0, x1), (yn, y0, y1) = x, y
    for arg, name in (("x", xn), ("y", yn)):
        if name not in PARAMETERS:
            raise ValueError(f"{arg} must name one of {PARAMETERS}, got {name!r}")
    if xn == yn:
        raise ValueError(f"x and y must name different parameters, both are {xn!r}")
    n = _validate.count("n", n, minimum=2)
    lo_hi = _validate.finite_array("x and y ranges", [x0, x1, y0, y1])
    if not (lo_hi[0] < lo_hi[1] and lo_hi[2] < lo_hi[3]):
        raise ValueError(f"x and y ranges must have low < high, got x={x}, y={y}")
    fixed_name = next(p for p in PARAMETERS if p not in (xn, yn))
    fixed = float(_validate.finite_array("fixed", fixed))
    xs, ys = np.linspace(lo_hi[0], lo_hi[1], n), np.linspace(lo_hi[2], lo_hi[3], n)
    theta = _full_theta(xn, yn, (fixed_name, fixed), *np.meshgrid(xs, ys))
    loss = model.loss(theta[..., 0], theta[..., 1], theta[..., 2])
    return Slice(xn, yn, xs, ys, (fixed_name, fixed), loss, model.N, model.L)


def _full_theta(x_name, y_name, fixed, x, y) -> np.ndarray:
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    parts = {x_name: x, y_name: y, fixed[0]: np.full_like(x, fixed[1])}
    return np.stack([parts[p] for p in PARAMETERS], axis=-1)
