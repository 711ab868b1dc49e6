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
    """Loss on a grid: ``loss[i, j]`` at ``(x_name = x[j], y_name = y[i])``, third parameter fixed.

    Made by :func:`loss_slice`.

    Attributes
    ----------
    x_name, y_name : str
        The parameters along the grid's columns and rows, two of ``"beta"``, ``"alpha"``, ``"xi"``.
    x, y : (n,) arrays
        Their evenly spaced values.
    fixed : tuple of (str, float)
        The third parameter and its value.
    loss : (n, n) array
        The model's loss, ``loss[i, j]`` at ``x[j]``, ``y[i]``.
    N, L : int
        The model's pairs in context and labels.

    Examples
    --------
    A flow's path drawn on the slice it ends near: :meth:`project` reads a path's (x, y)
    coordinates, :meth:`theta` maps slice coordinates back to (β, α, ξ).

    >>> from phenom import InductionHeadModel, induction_flow, loss_slice
    >>> s = loss_slice(InductionHeadModel(N=8, L=32), x=("alpha", 0, 8), y=("beta", 0, 6), fixed=5.0, n=5)
    >>> s.theta(8.0, 6.0).tolist()
    [6.0, 8.0, 5.0]
    >>> x, y = s.project(induction_flow(N=8, L=32, t_max=300.0).theta)
    >>> round(float(x[-1]), 2), round(float(y[-1]), 2)
    (6.44, 4.85)
    """

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

    Parameters
    ----------
    model : InductionHeadModel
        The model whose loss is evaluated (its N and L are kept in the slice).
    x : tuple of (str, float, float)
        The columns' parameter and its range ``(name, low, high)``, low < high, finite
        (default α from 0 to 8).
    y : tuple of (str, float, float)
        The rows' parameter and its range, another name (default β from 0 to 6).
    fixed : float
        The value of the third parameter, finite (default 0).
    n : int >= 2
        Grid points per axis (default 201).

    Returns
    -------
    Slice
        The grid and its loss.

    Examples
    --------
    With ξ = 5 fixed, the loss at α = 0 is 3.2536 whatever β (layer 2 attends uniformly, so
    layer 1 does not matter; below log 32 = 3.4657, since ξ already favours the in-context
    labels), and it falls towards large α and β, where layer 1 copies the previous token and
    layer 2 finds it:

    >>> from phenom import InductionHeadModel, loss_slice
    >>> s = loss_slice(InductionHeadModel(N=8, L=32), x=("alpha", 0, 8), y=("beta", 0, 6), fixed=5.0, n=5)
    >>> s.loss.shape, s.fixed, s.x.tolist(), s.y.tolist()
    ((5, 5), ('xi', 5.0), [0.0, 2.0, 4.0, 6.0, 8.0], [0.0, 1.5, 3.0, 4.5, 6.0])
    >>> sorted({round(float(v), 4) for v in s.loss[:, 0]}), round(float(s.loss[-1, -1]), 4)
    ([3.2536], 0.1952)
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
