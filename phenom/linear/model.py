r"""Linear attention as preconditioned gradient descent on in-context linear regression.

The task (Garg et al. 2022; von Oswald et al., ICML 2023, Sec. 2): x_i ~ N(0, Σ) in R^d, w ~ N(0, Ω),
y_i = wᵀx_i + ε_i with ε_i ~ N(0, σ²), i = 1..N, and a query (x_q, y_q) drawn the same way. One layer of linear
self-attention reduces, at its optimum, to the predictor

    ŷ = x_qᵀ Γ h,   h = (1/N) Σ_i y_i x_i,

one step of preconditioned gradient descent from w = 0 with preconditioner Γ. Its risk (no ½) is

    R(Γ) = E(ŷ − y_q)² = tr(Γᵀ Σ Γ M) − 2 tr(Σ Γ Σ Ω) + tr(Σ Ω) + σ²,
    M = E[h hᵀ] = (1 + 1/N) Σ Ω Σ + (tr(Ω Σ) + σ²)/N · Σ,

derived step by step below (and by :func:`phenom.linear.symbolic.derive_risk`, symbolically, from the
Gaussians):

1. Average over the query first: x_q is independent of h and w, so
   R = E[(Γh − w)ᵀ Σ (Γh − w)] + σ².
2. h = (1/N)(S w + Xᵀε) with S = XᵀX. Noise and w are independent of X and centred, so
   E[h hᵀ] = (1/N²)(E[S Ω S] + σ² E[S]) and E[h wᵀ] = (1/N) E[S] Ω = Σ Ω.
3. Isserlis for N i.i.d. rows: E[S A S] = N² Σ A Σ + N Σ Aᵀ Σ + N tr(AΣ) Σ; with A = Ω
   symmetric this gives M above, and E[S] = N Σ.
4. Expanding the quadratic form: R = tr(ΓᵀΣΓ M) − 2 tr(ΣΓ E[h wᵀ]) + tr(ΣΩ) + σ².

The gradient is ∇R = 2 Σ Γ M − 2 Σ Ω Σ, so Γ* = Ω Σ M⁻¹ and R* = tr(ΣΩ) + σ² − tr(ΣΓ*ΣΩ).
For Ω = I, σ = 0 this is Ahn et al.'s ``((1 + 1/N) Σ + tr(Σ)/N · I)⁻¹``.

The gradient flow dΓ/dt = −lr ∇R is linear. With Σ = Q_Σ diag(λ) Q_Σᵀ and M = Q_M diag(μ) Q_Mᵀ
(the same eigenbasis when Ω commutes with Σ, e.g. Ω = I), Γ̂ = Q_Σᵀ Γ Q_M decouples entry by entry:
Γ̂_ij(t) = Γ̂*_ij + (Γ̂_ij(0) − Γ̂*_ij) exp(−2 lr λ_i μ_j t), and R(t) − R* = Σ_ij λ_i μ_j Δ̂_ij(t)².

>>> task = LinearICL(d=2, N=4)
>>> task.optimal_preconditioner()
array([[0.57142857, 0.        ],
       [0.        , 0.57142857]])
>>> round(task.optimal_risk(), 12), round(task.risk(np.eye(2)), 12)
(0.857142857143, 1.5)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from phenom import _rng, _validate
from phenom.flow import Trajectory, gradient_flow
from phenom.linear.task import RegressionBatch, sample_regression

__all__ = [
    "LinearICL",
    "FactoredFlow",
]


# ---------------------------------------------------------------------------------------------
# The task and its closed-form risk


class LinearICL:
    """In-context linear regression with the reduced one-layer predictor ŷ = x_qᵀ Γ h.

    Parameters
    ----------
    d : int >= 1
        Input dimension.
    N : int >= 1
        Context pairs per sequence.
    Sigma : (d, d) symmetric positive definite, optional
        Covariance Σ of the inputs x (identity if None).
    Omega : (d, d) symmetric positive definite, optional
        Covariance Ω of the task vector w (identity if None).
    noise : float >= 0
        Label-noise *variance* σ².

    Examples
    --------
    For Σ = Ω = I, σ = 0 at d = 2, N = 4 the optimum is Ahn et al.'s
    ((1 + 1/N) Σ + tr(Σ)/N · I)⁻¹ = 4/7 · I with risk 6/7, against 2 at Γ = 0 and 3/2 at Γ = I
    (one plain gradient step); a Monte Carlo estimate agrees within its standard error, and the
    gradient flow from Γ = 0 reaches the optimum:

    >>> import numpy as np
    >>> from phenom import LinearICL
    >>> task = LinearICL(d=2, N=4)
    >>> task.optimal_preconditioner().round(6).tolist()
    [[0.571429, 0.0], [0.0, 0.571429]]
    >>> round(task.optimal_risk(), 6), round(task.risk(np.zeros((2, 2))), 6), round(task.risk(np.eye(2)), 6)
    (0.857143, 2.0, 1.5)
    >>> mean, stderr = task.risk_mc(task.optimal_preconditioner(), n_tasks=20_000)
    >>> bool(abs(mean - task.optimal_risk()) < 3 * stderr)
    True
    >>> [round(float(r), 4) for r in task.risk_exact([0.0, 1.0, 5.0])]
    [2.0, 0.8582, 0.8571]

    A task whose Σ has distinct eigenvalues needs a preconditioner that is not a multiple of I:

    >>> LinearICL.reference(2, 4).optimal_preconditioner().round(6).tolist()
    [[0.32, 0.0], [0.0, 0.8]]
    """

    def __init__(self, d: int = 2, N: int = 4, Sigma=None, Omega=None, noise: float = 0.0):
        d = _validate.at_most("d", _validate.count("d", d), MAX_D, "Σ, Ω and Γ are d × d matrices")
        self._d = d
        self._N = _validate.count("N", N)
        self._Sigma = _validate.spd_matrix("Sigma", np.eye(d) if Sigma is None else Sigma, d)
        self._Omega = _validate.spd_matrix("Omega", np.eye(d) if Omega is None else Omega, d)
        self._noise = _validate.nonnegative("noise", noise)
        for arr in (self._Sigma, self._Omega):
            arr.flags.writeable = False

    # Read-only: the cached closed forms below depend on them.
    d = property(lambda self: self._d, doc="input dimension d")
    N = property(lambda self: self._N, doc="context pairs N")
    Sigma = property(lambda self: self._Sigma, doc="input covariance Σ")
    Omega = property(lambda self: self._Omega, doc="task-vector covariance Ω")
    noise = property(lambda self: self._noise, doc="label-noise variance σ²")

    def __repr__(self) -> str:
        return f"LinearICL(d={self.d}, N={self.N}, noise={self.noise:g})"

    EIGENVALUES = {2: (2.0, 0.5), 5: (2.0, 1.4, 1.0, 0.6, 0.3)}
    """Σ's eigenvalues in :meth:`reference` (geometric from 2 down to 0.3 for other d)."""

    @classmethod
    def reference(cls, d: int, N: int, noise: float = 0.0, *, seed: int = 3) -> LinearICL:
        """The figures' task: Σ with distinct eigenvalues (:attr:`EIGENVALUES`) in a random
        orthogonal basis from ``seed`` (d = 2 is left unrotated, so its slices are axis-aligned),
        Ω = I: a preconditioner has to learn both Σ's spectrum and its basis.

        >>> task = LinearICL.reference(2, 4)
        >>> np.diag(task.Sigma).tolist(), task.optimal_preconditioner().diagonal().round(6).tolist()
        ([2.0, 0.5], [0.32, 0.8])
        """
        d, N = (
            _validate.at_most("d", _validate.count("d", d), MAX_D, "Σ, Ω and Γ are d × d matrices"),
            _validate.count("N", N),
        )
        lam = np.array(cls.EIGENVALUES.get(d, np.geomspace(2.0, 0.3, d)))
        if d == 2:
            return cls(d, N, np.diag(lam), None, noise)
        Q, _ = np.linalg.qr(_rng.stream(seed, "basis").standard_normal((d, d)))
        return cls(d, N, Q @ np.diag(lam) @ Q.T, None, noise)

    # -- closed forms --------------------------------------------------------------------------

    @functools.cached_property
    def M(self) -> np.ndarray:
        """E[h hᵀ] = (1 + 1/N) ΣΩΣ + (tr(ΩΣ) + σ²)/N · Σ."""
        S, Om, N = self.Sigma, self.Omega, self.N
        return (1 + 1 / N) * S @ Om @ S + (np.trace(Om @ S) + self.noise) / N * S

    @functools.cached_property
    def _target(self) -> np.ndarray:
        return self.Sigma @ self.Omega @ self.Sigma  # ΣΩΣ

    def _gamma(self, Gamma, name: str = "Gamma", single: bool = False) -> np.ndarray:
        G = _validate.finite_array(name, Gamma)
        if single and G.shape != (self.d, self.d):
            raise ValueError(f"{name} must be one ({self.d}, {self.d}) matrix, got shape {G.shape}")
        if G.ndim < 2 or G.shape[-2:] != (self.d, self.d):
            raise ValueError(f"{name} must have shape (..., {self.d}, {self.d}), got {G.shape}")
        return G

    def risk(self, Gamma) -> np.ndarray | float:
        """R(Γ) = E(x_qᵀΓh − y_q)², for Γ of shape (..., d, d)."""
        G = self._gamma(Gamma)
        S = self.Sigma
        quad = np.einsum("...ji,jk,...kl,li->...", G, S, G, self.M)  # tr(ΓᵀΣΓM)
        cross = np.einsum("ij,...jk,kl,li->...", S, G, S, self.Omega)  # tr(ΣΓΣΩ)
        out = quad - 2 * cross + np.trace(S @ self.Omega) + self.noise
        return float(out) if np.ndim(out) == 0 else out

    def risk_grad(self, Gamma) -> np.ndarray:
        """∇R(Γ) = 2ΣΓM − 2ΣΩΣ, shape (..., d, d)."""
        G = self._gamma(Gamma)
        return 2 * (self.Sigma @ G @ self.M - self._target)

    def optimal_preconditioner(self) -> np.ndarray:
        """Γ* = Ω Σ M⁻¹, the minimiser of R."""
        # Γ* M = ΩΣ  ⇔  M Γ*ᵀ = ΣΩ (M symmetric)
        return np.linalg.solve(self.M, self.Sigma @ self.Omega).T

    def optimal_risk(self) -> float:
        """R(Γ*) = tr(ΣΩ) + σ² − tr(ΣΓ*ΣΩ)."""
        G = self.optimal_preconditioner()
        return float(
            np.trace(self.Sigma @ self.Omega) + self.noise - np.trace(self.Sigma @ G @ self.Sigma @ self.Omega)
        )

    # -- sampling and Monte Carlo --------------------------------------------------------------

    def sample(self, n_tasks: int, rng: np.random.Generator) -> RegressionBatch:
        """``n_tasks`` independent sequences (contexts and queries) of this task."""
        return sample_regression(self, n_tasks, rng)

    def risk_mc(self, Gamma, n_tasks: int = 100_000, seed: int = 0, chunk: int = 20_000) -> tuple[float, float]:
        """Monte Carlo estimate of R(Γ) from ``n_tasks`` sampled sequences: (mean, standard error)."""
        G = self._gamma(Gamma, single=True)
        n_tasks = _validate.count("n_tasks", n_tasks, minimum=2)
        chunk = _validate.count("chunk", chunk)
        rng = _rng.stream(seed, "monte_carlo")
        total = total_sq = 0.0
        done = 0
        while done < n_tasks:
            b = self.sample(min(chunk, n_tasks - done), rng)
            h = np.einsum("bi,bid->bd", b.y, b.X) / self.N
            err = np.einsum("bd,de,be->b", b.x_q, G, h) - b.y_q
            sq = err**2
            total, total_sq, done = total + sq.sum(), total_sq + (sq**2).sum(), done + len(sq)
        mean = total / n_tasks
        var = (total_sq - n_tasks * mean**2) / (n_tasks - 1)
        return float(mean), float(np.sqrt(max(var, 0.0) / n_tasks))

    # -- gradient flows -----------------------------------------------------------------------

    def flow(self, Gamma0=None, t_max: float = 5.0, lr: float = 1.0, **options) -> Trajectory:
        """dΓ/dt = −lr ∇R integrated numerically (solve_ivp); θ is Γ flattened row-major."""
        d = self.d
        G0 = np.zeros((d, d)) if Gamma0 is None else self._gamma(Gamma0, "Gamma0", single=True)
        names = tuple(f"Gamma[{i},{j}]" for i in range(d) for j in range(d))
        traj = gradient_flow(
            lambda th, k: self.risk(th.reshape(*th.shape[:-1], d, d)),
            lambda th, k: self.risk_grad(th.reshape(*th.shape[:-1], d, d)).reshape(th.shape),
            G0.reshape(-1),
            t_max=t_max,
            lr=lr,
            names=names,
            settings={"d": d, "N": self.N, "noise": self.noise},
            **options,
        )
        assert isinstance(traj, Trajectory)  # one start (Γ0 flattened): one flow
        return traj

    @functools.cached_property
    def _eigen(self):
        lam, Q_s = np.linalg.eigh(self.Sigma)
        mu, Q_m = np.linalg.eigh(self.M)
        return lam, Q_s, mu, Q_m

    def flow_exact(self, t, Gamma0=None, lr: float = 1.0) -> np.ndarray:
        """Closed-form Γ(t) of dΓ/dt = −lr ∇R: shape (d, d), or (len(t), d, d) for an array ``t``
        (times >= 0, lr > 0)."""
        t_arr, lr = _validate.times("t", t), _validate.positive("lr", lr)
        lam, Q_s, mu, Q_m = self._eigen
        G0 = np.zeros((self.d, self.d)) if Gamma0 is None else self._gamma(Gamma0, "Gamma0", single=True)
        star = Q_s.T @ self.optimal_preconditioner() @ Q_m
        delta0 = Q_s.T @ G0 @ Q_m - star
        hat = star + delta0 * _decay(2 * lr * np.outer(lam, mu), t_arr[..., None, None])
        return Q_s @ hat @ Q_m.T

    def risk_exact(self, t, Gamma0=None, lr: float = 1.0) -> np.ndarray:
        """R(Γ(t)) along the exact flow: R* + Σ_ij λ_i μ_j Δ̂_ij(0)² exp(−4 lr λ_i μ_j t)."""
        t_arr, lr = _validate.times("t", t)[..., None, None], _validate.positive("lr", lr)
        lam, Q_s, mu, Q_m = self._eigen
        G0 = np.zeros((self.d, self.d)) if Gamma0 is None else self._gamma(Gamma0, "Gamma0", single=True)
        delta0 = Q_s.T @ (G0 - self.optimal_preconditioner()) @ Q_m
        weights = np.outer(lam, mu)
        return self.optimal_risk() + np.sum(weights * delta0**2 * _decay(4 * lr * weights, t_arr), axis=(-2, -1))

    def factored_flow(
        self, u0: float | np.ndarray, U0, t_max: float = 20.0, lr: float = 1.0, *, method: str | None = None, **options
    ) -> FactoredFlow:
        """Gradient flow of the one-layer LSA's own parameters: Γ = u Uᵀ with value scalar u and
        key-query block U (Zhang, Frei, Bartlett). u² − ‖U‖_F² is conserved.

        The flow is stiff when the weights are large: its fastest rate is about
        2·lr·λ_max(Σ)·μ_max·s, with s the larger of u0² + ‖U0‖² and the optimum's 2‖Γ*‖, and an
        explicit method takes ~t_max times that many steps. ``method`` (any of solve_ivp's)
        defaults to RK45, or to LSODA (which switches to a stiff method where it must) when that
        count exceeds :data:`STIFF_STEPS`: u0 = 1e3, U0 = 1e3·I, t_max = 1 at d = 2 then takes
        0.2 s instead of minutes."""
        d = self.d
        U0 = _validate.finite_array("U0", U0)
        if U0.shape != (d, d):
            raise ValueError(f"U0 must have shape ({d}, {d}), got {U0.shape}")
        u0 = _validate.finite_array("u0", u0)
        if u0.ndim != 0:
            raise ValueError(f"u0 must be one number, got shape {u0.shape}")
        u0 = float(u0)
        t_max, lr = _validate.positive("t_max", t_max), _validate.positive("lr", lr)
        if max(abs(u0), float(np.abs(U0).max())) > 1e100:
            raise ValueError(
                f"u0 and U0 must have entries of size at most 1e100, got {max(abs(u0), np.abs(U0).max()):.3g}"
            )
        if method is None:
            lam, _, mu, _ = self._eigen
            scale = max(u0 * u0 + float(np.sum(U0 * U0)), 2 * float(np.linalg.norm(self.optimal_preconditioner())))
            method = "LSODA" if t_max * 2 * lr * lam[-1] * mu[-1] * scale > STIFF_STEPS else "RK45"

        def split(th):
            return th[..., 0], th[..., 1:].reshape(*th.shape[:-1], d, d)

        def loss(th, k):
            u, U = split(th)
            return self.risk(u[..., None, None] * np.swapaxes(U, -1, -2))

        def grad(th, k):
            u, U = split(th)
            G = self.risk_grad(u[..., None, None] * np.swapaxes(U, -1, -2))
            du = np.einsum("...ij,...ji->...", G, U)  # ⟨∇R, Uᵀ⟩
            dU = u[..., None, None] * np.swapaxes(G, -1, -2)
            return np.concatenate([du[..., None], dU.reshape(*dU.shape[:-2], d * d)], axis=-1)

        names = ("u",) + tuple(f"U[{i},{j}]" for i in range(d) for j in range(d))
        traj = gradient_flow(
            loss,
            grad,
            np.concatenate([[u0], U0.ravel()]),
            t_max=t_max,
            lr=lr,
            names=names,
            settings={"d": d, "N": self.N, "noise": self.noise},
            method=method,
            **options,
        )
        assert isinstance(traj, Trajectory)  # one start (u0, U0 flattened): one flow
        return FactoredFlow(traj, d)


MAX_D = 1024
"""The largest input dimension of in-context linear regression."""


def _decay(rates: np.ndarray, t: np.ndarray) -> np.ndarray:
    """exp(−rates·t) for rates, t >= 0, with the limits a huge lr or t reaches: 1 at t = 0 (even
    where rates overflow to inf), 0 where rates·t overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(-np.where(t > 0, rates * t, 0.0))


STIFF_STEPS = 1e5
"""Above this estimated number of explicit steps, :meth:`LinearICL.factored_flow` integrates with
LSODA (stiff where needed) rather than RK45."""


@dataclass(frozen=True)
class FactoredFlow:
    """A :class:`~phenom.flow.Trajectory` of (u, U) with the views a reader wants.

    Made by :meth:`LinearICL.factored_flow`: the one-layer LSA's value scalar u and key-query
    block U, with Γ = u Uᵀ (Zhang, Frei and Bartlett, JMLR 2024).

    Attributes
    ----------
    trajectory : Trajectory
        The flow of θ = (u, U flattened row-major); its loss is R(Γ).
    d : int
        The input dimension (U is d × d).

    Examples
    --------
    From small balanced-ish weights (u = 0.1, U = 0.1·I) the risk falls to R* = 6/7 while
    u² − ‖U‖_F² stays at 0.01 − 0.02:

    >>> import numpy as np
    >>> from phenom import LinearICL
    >>> task = LinearICL(d=2, N=4)
    >>> flow = task.factored_flow(0.1, 0.1 * np.eye(2), t_max=10.0, rtol=1e-8, atol=1e-10)
    >>> round(float(flow.risk[0]), 4), round(float(flow.risk[-1]), 4)
    (1.9604, 0.8571)
    >>> [round(float(c), 6) for c in flow.conserved()[[0, -1]]]
    [-0.01, -0.01]
    >>> flow.Gamma(10.0).round(4).tolist(), flow.U().shape[1:]
    ([[0.5714, 0.0], [0.0, 0.5714]], (2, 2))
    """

    trajectory: Trajectory
    d: int

    @property
    def t(self) -> np.ndarray:
        return self.trajectory.t

    @property
    def risk(self) -> np.ndarray:
        return self.trajectory.loss

    def u(self, t=None) -> np.ndarray:
        theta = self.trajectory.theta if t is None else self.trajectory(t)
        return theta[..., 0]

    def U(self, t=None) -> np.ndarray:
        theta = self.trajectory.theta if t is None else self.trajectory(t)
        return theta[..., 1:].reshape(*theta.shape[:-1], self.d, self.d)

    def Gamma(self, t=None) -> np.ndarray:
        """Γ = u Uᵀ along the flow."""
        return self.u(t)[..., None, None] * np.swapaxes(self.U(t), -1, -2)

    def conserved(self, t=None) -> np.ndarray:
        """u² − ‖U‖_F², constant along the exact flow."""
        return self.u(t) ** 2 - np.sum(self.U(t) ** 2, axis=(-2, -1))
