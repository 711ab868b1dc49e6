"""The in-context tasks the networks train on, sampled vectorised and seeded.

- In-context linear regression (Garg et al. 2022; von Oswald et al., ICML 2023;
  :func:`~phenom.linear.task.sample_regression`): for each sequence a fresh task vector w ~ N(0, Ω),
  N context inputs and one query x ~ N(0, Σ), labels y = wᵀx + ε, ε ~ N(0, σ²).
- The in-context copying task (Reddy, ICLR 2024, Sec. 2): N item–label pairs and a target item
  that is a noisy copy of one of them (:class:`CopyingTask`).
- In-context classification with K classes, Zipf rank-frequencies, burstiness and novel
  classes, with its IC, IC2 and IW evaluation sets (Chan et al., NeurIPS 2022; Reddy 2024)
  (:class:`ClassificationTask`).

:func:`make_task` builds either sequence task by name.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from phenom import _rng, _validate
from phenom.nets._box_muller import radius as box_muller_radius

__all__ = [
    "POSITIONS",
    "MAX_ZIPF",
    "MAX_D",
    "MAX_K",
    "MAX_EPS",
    "MAX_MEANS",
    "MAX_BATCH",
    "batch_limit",
    "SequenceBatch",
    "assemble",
    "CopyingTask",
    "ClassificationTask",
    "make_task",
]


POSITIONS = 65  # one-hot position slots: 2·32 + 1, enough for N <= 32


MAX_ZIPF = 10.0  # the largest Zipf exponent of the classification task


MAX_D = 4096  # the largest content width of the sequence tasks


MAX_K = 2**20  # the largest number of classes of the classification task

MAX_EPS = 1e30
"""The largest within-class noise ε. ε multiplies a standard normal, at most 5.77 in float32
(``_box_muller32``), below 40 in float64 in practice: ε η < 1e32 stays far inside float32
(3.4e38), ε² inside float64. Beyond ε ~ 1e8 an item is pure noise in float32 anyway."""

MAX_MEANS = 2**27
"""The most class-mean numbers K · D: stored in float64 and float32, 12 bytes each, 1.5 GiB."""

MAX_BATCH = 2**26
"""The most token numbers n · (2N + 1) · (P + D) one ``sample`` call draws (n sequences of 2N + 1
tokens of P position slots and D content numbers): 512 MiB as float64 tokens."""


@dataclass(frozen=True)
class SequenceBatch:
    """``n`` item–label sequences as network input, as the tasks' ``sample`` methods return them.

    A token is a one-hot position (P = :data:`POSITIONS` slots) followed by its content:
    :attr:`tokens` builds that dense (n, 2N+1, P+D) array on first use; the networks read the
    positions as indices.

    Parameters
    ----------
    content : numpy.ndarray
        (n, 2N+1, D): the items, labels and target, x1, l1, …, xN, lN, xq (the target last).
    offset : numpy.ndarray
        (n,) integers: each sequence's first position slot; token i sits at slot offset + i,
        from 0 to P − 1.
    answer : numpy.ndarray
        (n,) integers: the correct label, 0 to L − 1.
    context_labels : numpy.ndarray
        (n, N) integers: the label of each context pair.
    target_pair : numpy.ndarray
        (n,) integers: the index of a context pair whose item matches the target's class
        (−1 when the target's class is absent from the context).

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.tasks import CopyingTask
    >>> batch = CopyingTask(N=2, L=4, D=8).sample(3, np.random.default_rng(0))
    >>> len(batch), batch.content.shape, batch.tokens.shape  # 5 tokens of 65 + 8 numbers
    (3, (3, 5, 8), (3, 5, 73))
    >>> bool(np.all(batch.tokens[:, :, :65].argmax(axis=2) == batch.positions))
    True
    >>> len(batch.rows(slice(0, 2)))
    2
    """

    content: np.ndarray
    offset: np.ndarray
    answer: np.ndarray
    context_labels: np.ndarray
    target_pair: np.ndarray

    def __len__(self) -> int:
        return len(self.answer)

    def rows(self, index) -> SequenceBatch:
        """The sequences ``index`` (a slice or index array) as a batch of their own."""
        return SequenceBatch(
            self.content[index],
            self.offset[index],
            self.answer[index],
            self.context_labels[index],
            self.target_pair[index],
        )

    @property
    def positions(self) -> np.ndarray:
        """(n, 2N+1): the position slot of every token."""
        return self.offset[:, None] + np.arange(self.content.shape[1])

    @cached_property
    def tokens(self) -> np.ndarray:
        """(n, 2N+1, P+D): one-hot position, then content."""
        n, T, D = self.content.shape
        X = np.zeros((n, T, POSITIONS + D), dtype=self.content.dtype)
        X[np.arange(n)[:, None], np.arange(T), self.positions] = 1.0
        X[..., POSITIONS:] = self.content
        return X


def _sizes(N, L, D) -> tuple[int, int, int]:
    """The sequence tasks' N (2N + 1 tokens in the position slots), L >= N and D from L to MAX_D."""
    N, L = _validate.pairs(N, L)
    if 2 * N + 1 > POSITIONS:
        raise ValueError(
            f"N must be an integer <= {(POSITIONS - 1) // 2} (2N+1 tokens in {POSITIONS} position slots), got {N}"
        )
    bound = f"L = {L} (L label vectors need L dimensions to be independent)"
    return N, L, _validate.at_most("D", _validate.count("D", D, minimum=L, bound=bound), MAX_D, "content width")


def _eps(eps) -> float:
    """The within-class noise ε: a number from 0 to :data:`MAX_EPS`."""
    eps = _validate.nonnegative("eps", eps)
    if eps > MAX_EPS:
        raise ValueError(
            f"eps must be a number from 0 to {MAX_EPS:g} (eps times a normal draw stays inside float32), got {eps!r}"
        )
    return eps


def batch_limit(N: int, D: int) -> int:
    """The most sequences one ``sample`` call draws at N pairs and width D (:data:`MAX_BATCH`).

    A batch of n sequences holds n · (2N + 1) · (P + D) token numbers (P = :data:`POSITIONS`
    one-hot position slots); ``sample`` refuses more than :data:`MAX_BATCH` of them, 512 MiB as
    float64 tokens.

    Parameters
    ----------
    N : int
        Item–label pairs per sequence, 1 to 32.
    D : int
        Content width, >= 1.

    Returns
    -------
    int
        MAX_BATCH // ((2N + 1) · (P + D)).

    Examples
    --------
    >>> from phenom.nets.tasks import batch_limit
    >>> batch_limit(8, 63), 2**26 // ((2 * 8 + 1) * (65 + 63))
    (30840, 30840)
    """
    return MAX_BATCH // ((2 * N + 1) * (POSITIONS + D))


def _sampling(task, n, rng, dtype) -> tuple[int, np.dtype]:
    """``sample``'s arguments checked: n (0 to :func:`batch_limit`), rng, dtype (float32, float64)."""
    n = _validate.count("n", n, minimum=0)
    largest = batch_limit(task.N, task.D)
    if n > largest:
        gib = n * (2 * task.N + 1) * (POSITIONS + task.D) * 8 / 2**30
        raise ValueError(
            f"n must be an integer from 0 to {largest} for N = {task.N}, D = {task.D} (at most 2^26 token "
            f"numbers per batch, 512 MiB in float64), got {n}: {gib:.3g} GiB"
        )
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {_validate.shown(rng)}")
    return n, _validate.float_dtype("dtype", dtype)


def _gauss(rng: np.random.Generator, shape, D: int, dtype=np.float64) -> np.ndarray:
    """N(0, I/D) draws: numpy's normals in float64, :func:`_box_muller32` in float32."""
    if np.dtype(dtype) == np.float32:
        x = _box_muller32(rng, int(np.prod(shape))).reshape(shape)
    else:
        x = rng.standard_normal(shape)
    x *= x.dtype.type(1 / np.sqrt(D))
    return x


def _box_muller32(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` standard normals in float32 by the Box–Muller transform of float32 uniforms:
    sqrt(−2 log(1 − u)) (cos 2πv, sin 2πv), with numpy's vectorised float32 sin and cos and a
    compiled, vectorised radius (:mod:`._box_muller`: numpy's ``sqrt(-2 * log1p(-u))`` bit for bit,
    whose scalar ``log1pf`` calls were half the time: 2^17 normals take 0.9 ms against 1.7 ms on
    the benchmark machine). With 24-bit uniforms the radius stops at sqrt(2 log 2²⁴) = 5.77: the
    tail beyond (probability 8e-9 per draw) is not produced."""
    half = (size + 1) // 2
    u, v = rng.random(half, dtype=np.float32), rng.random(half, dtype=np.float32)
    radius = box_muller_radius(u)
    v *= np.float32(2 * np.pi)
    out = np.empty(2 * half, dtype=np.float32)
    np.multiply(radius, np.cos(v), out=out[:half])
    np.multiply(radius, np.sin(v), out=out[half:])
    return out[:size]


def _noisy(means: np.ndarray, eps: float, D: int, rng: np.random.Generator) -> np.ndarray:
    """An item of a class with mean μ: (μ + ε η)/sqrt(1 + ε²), η ~ N(0, I/D)."""
    return (means + eps * _gauss(rng, means.shape, D, means.dtype)) * means.dtype.type(1 / np.sqrt(1 + eps**2))


def assemble(
    items: np.ndarray,
    labels: np.ndarray,
    target: np.ndarray,
    label_vectors: np.ndarray,
    rng: np.random.Generator,
    dtype=np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Content x1, l1, …, xN, lN, xq and each sequence's random position offset.

    Parameters
    ----------
    items : numpy.ndarray
        (n, N, D): the context items.
    labels : numpy.ndarray
        (n, N) integers: each item's label, an index into ``label_vectors``.
    target : numpy.ndarray
        (n, D): the target item of each sequence.
    label_vectors : numpy.ndarray
        (L, D): the content of each label's token.
    rng : numpy.random.Generator
        Draws the offsets, uniform from 0 to P − (2N + 1) (P = :data:`POSITIONS`), so that every
        token has a position slot.
    dtype : numpy.dtype, default numpy.float64
        The content's dtype.

    Returns
    -------
    content : numpy.ndarray
        (n, 2N+1, D): items and their label vectors alternating, the target last.
    offset : numpy.ndarray
        (n,) integers: each sequence's first position slot.

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.tasks import assemble
    >>> items = np.array([[[1.0, 0.0], [0.0, 1.0]]])  # one sequence of N = 2 items, D = 2
    >>> label_vectors = np.array([[0.0, 0.0], [5.0, 5.0], [7.0, 7.0]])  # L = 3
    >>> content, offset = assemble(items, np.array([[2, 1]]), items[:, 0], label_vectors, np.random.default_rng(0))
    >>> content[0].tolist()
    [[1.0, 0.0], [7.0, 7.0], [0.0, 1.0], [5.0, 5.0], [1.0, 0.0]]
    >>> bool(0 <= offset[0] <= 65 - 5)
    True
    """
    n, N, D = items.shape
    T = 2 * N + 1
    content = np.empty((n, T, D), dtype=dtype)
    content[:, 0:-1:2] = items
    content[:, 1:-1:2] = label_vectors[labels]
    content[:, -1] = target
    return content, rng.integers(0, POSITIONS - T + 1, size=n)


class CopyingTask:
    """The in-context copying task: N item–label pairs, then a noisy copy of one item.

    Reddy (ICLR 2024, Sec. 2). Items are fresh for every sequence (class means μ ~ N(0, I/D),
    each item and the target a noisy sample (μ + εη)/sqrt(1+ε²)), so only in-context learning
    solves it; the N labels are distinct, drawn from L fixed label vectors ~ N(0, I/D) (from
    ``seed``). Chance accuracy is 1/L; guessing among the labels in context gives 1/N.

    Parameters
    ----------
    N : int, default 8
        Item–label pairs per sequence, 1 to 32 (the 2N + 1 tokens fit the :data:`POSITIONS`
        = 65 position slots).
    L : int, default 32
        Labels, N to D (the N labels of a sequence are distinct).
    D : int, default 63
        Content width, L to :data:`MAX_D` = 4096 (L label vectors need L dimensions to be
        independent).
    eps : float, default 0.1
        Within-class noise ε, 0 to :data:`MAX_EPS`; the target's correlation with its item is
        1/(1 + ε²) in every coordinate.
    seed : int, default 0
        Seed of the label vectors, >= 0 (the sequences' randomness comes from the ``rng`` given
        to :meth:`sample`).

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.tasks import CopyingTask
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> task
    CopyingTask(N=2, L=4, D=8, eps=0.1, seed=0)
    >>> batch = task.sample(3, np.random.default_rng(0))
    >>> batch.tokens.shape, batch.answer.shape, task.d_model
    ((3, 5, 73), (3,), 73)

    The answer is the label of the pair whose item the target copies:

    >>> bool(np.all(batch.answer == batch.context_labels[np.arange(3), batch.target_pair]))
    True
    """

    def __init__(self, N: int = 8, L: int = 32, D: int = 63, eps: float = 0.1, seed: int = 0):
        self.N, self.L, self.D = _sizes(N, L, D)
        self.eps = _eps(eps)
        self.seed = _validate.count("seed", seed, minimum=0)
        self.label_vectors = _rng.stream(self.seed, "task").standard_normal((self.L, self.D)) / np.sqrt(self.D)
        self._label_vectors32 = self.label_vectors.astype(np.float32)

    def __repr__(self) -> str:
        return f"CopyingTask(N={self.N}, L={self.L}, D={self.D}, eps={self.eps:g}, seed={self.seed})"

    @property
    def config(self) -> dict:
        return {"task": "copy", "N": self.N, "L": self.L, "D": self.D, "eps": self.eps, "label_seed": self.seed}

    @property
    def d_model(self) -> int:
        return POSITIONS + self.D

    def sample(self, n: int, rng: np.random.Generator, dtype=np.float64) -> SequenceBatch:
        """``n`` sequences. Each item is marginally N(0, I/D) and only the target's item is
        correlated with the target (correlation ρ = 1/(1+ε²) in every coordinate), so items are
        drawn directly and the target as ρ·item + sqrt(1 − ρ²)·ζ, ζ ~ N(0, I/D): exactly the
        joint law of the class-mean construction above, with half the Gaussian draws.
        ``n`` from 0 to :func:`batch_limit`; ``dtype`` float32 or float64."""
        n, dtype = _sampling(self, n, rng, dtype)
        N, L, D = self.N, self.L, self.D
        items = _gauss(rng, (n, N, D), D, dtype)
        labels = np.argsort(rng.random((n, L)), axis=1)[:, :N]  # N distinct labels each
        pair = rng.integers(0, N, size=n)
        rho = 1 / (1 + self.eps**2)
        target = _gauss(rng, (n, D), D, dtype)
        target *= target.dtype.type(np.sqrt(1 - rho**2))
        target += target.dtype.type(rho) * items[np.arange(n), pair]
        content, offset = assemble(items, labels, target, self._labels(dtype), rng, dtype)
        return SequenceBatch(content, offset, labels[np.arange(n), pair], labels, pair)

    def _labels(self, dtype) -> np.ndarray:
        """The label vectors in ``dtype`` (float32 cast once, in ``__init__``)."""
        return self._label_vectors32 if np.dtype(dtype) == np.float32 else self.label_vectors


class ClassificationTask:
    """Reddy's in-context classification distribution, for in-context vs in-weights learning.

    K classes (K a multiple of L; class k has label k mod L) with fixed means ~ N(0, I/D) and a
    rank-frequency law p(k) ∝ (k+1)^(−a). A fraction ``p_B`` of sequences is *bursty*: N/B classes,
    each appearing B times, the target's class among them, all with distinct labels; the rest are
    i.i.d. draws from p (B = 0 makes every sequence i.i.d.). A fraction ``p_C`` of sequences uses
    novel classes (fresh means, random distinct labels), which only in-context learning can solve.

    Evaluation sets (:meth:`eval_sets`): IC (bursty, novel: pure in-context), IC2 (bursty, the
    existing classes with labels shifted l → l+1 mod L, scored against the shifted label) and IW
    (i.i.d. existing classes: in-weights only).

    Parameters
    ----------
    N : int, default 8
        Item–label pairs per sequence, 1 to 32 (the 2N + 1 tokens fit the :data:`POSITIONS`
        = 65 position slots).
    L : int, default 32
        Labels, N to D.
    D : int, default 63
        Content width, L to :data:`MAX_D` = 4096.
    eps : float, default 0.1
        Within-class noise ε, 0 to :data:`MAX_EPS`: an item is (μ + εη)/sqrt(1 + ε²).
    K : int, default 256
        Classes: a multiple of L, up to :data:`MAX_K`, with K · D at most :data:`MAX_MEANS`.
    B : int, default 1
        Copies of each class in a bursty sequence: 0 (no bursty sequences) or a divisor of N
        with N/B <= L.
    a : float, default 0.0
        Zipf exponent of the classes' rank-frequency law, 0 (uniform) to :data:`MAX_ZIPF`.
    p_B : float, default 1.0
        Fraction of bursty sequences, in [0, 1].
    p_C : float, default 0.0
        Fraction of sequences of novel classes, in [0, 1].
    seed : int, default 0
        Seed of the class means and label vectors, >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from phenom.nets.tasks import ClassificationTask
    >>> task = ClassificationTask(N=4, L=4, D=8, K=8, B=2)
    >>> batch = task.sample(5, np.random.default_rng(0))

    Every sequence is bursty (p_B = 1): two classes, twice each, the target's among them:

    >>> all(np.unique(row, return_counts=True)[1].tolist() == [2, 2] for row in batch.context_labels)
    True
    >>> bool(np.all(batch.target_pair >= 0))
    True
    >>> {name: len(sequences) for name, sequences in task.eval_sets(3, np.random.default_rng(1)).items()}
    {'IC': 3, 'IC2': 3, 'IW': 3}
    """

    def __init__(
        self,
        N: int = 8,
        L: int = 32,
        D: int = 63,
        eps: float = 0.1,
        K: int = 256,
        B: int = 1,
        a: float = 0.0,
        p_B: float = 1.0,
        p_C: float = 0.0,
        seed: int = 0,
    ):
        self.N, self.L, self.D = _sizes(N, L, D)
        self.eps = _eps(eps)
        self.K = _validate.at_most(
            "K",
            _validate.count("K", K, minimum=self.L, bound=f"L = {self.L}"),
            MAX_K,
            "class means are stored: K × D numbers",
        )
        if self.K % self.L:
            raise ValueError(f"K must be a multiple of L = {self.L}, got {K}")
        if self.K * self.D > MAX_MEANS:
            raise ValueError(
                f"K × D must be at most 2^27 (the class means, 12 bytes each in float64 and float32: 1.5 GiB), "
                f"got K = {self.K}, D = {self.D}: {self.K * self.D * 12 / 2**30:.3g} GiB"
            )
        self.B = _validate.count("B", B, minimum=0)
        if self.B and (self.N % self.B or self.N // self.B > self.L):
            raise ValueError(f"B must divide N = {self.N} with N/B <= L = {self.L} (or be 0), got {B}")
        self.a = _validate.nonnegative("a", a)
        if self.a > MAX_ZIPF:
            raise ValueError(
                f"a must be a number from 0 to {MAX_ZIPF:g} (beyond it the rarest classes' "
                f"frequencies underflow), got {a!r}"
            )
        self.p_B, self.p_C = (_validate.probability(name, v) for name, v in (("p_B", p_B), ("p_C", p_C)))
        self.seed = _validate.count("seed", seed, minimum=0)
        rng = _rng.stream(self.seed, "task")
        self.label_vectors = rng.standard_normal((self.L, self.D)) / np.sqrt(self.D)
        self.means = rng.standard_normal((self.K, self.D)) / np.sqrt(self.D)
        self._float32 = (self.means.astype(np.float32), self.label_vectors.astype(np.float32))
        log_weights = -self.a * np.log1p(np.arange(self.K))
        weights = np.exp(log_weights - log_weights.max())
        self.p = weights / weights.sum()
        self._cdf = np.cumsum(self.p)
        by_label = self.p.reshape(self.K // self.L, self.L).T  # (L, K/L): class g·L + l has label l
        mass = by_label.sum(axis=1)
        self._log_label_mass = np.log(mass)
        self._cdf_within = np.cumsum(by_label, axis=1) / mass[:, None]

    def __repr__(self) -> str:
        return (
            f"ClassificationTask(N={self.N}, L={self.L}, D={self.D}, eps={self.eps:g}, K={self.K}, B={self.B}, "
            f"a={self.a:g}, p_B={self.p_B:g}, p_C={self.p_C:g}, seed={self.seed})"
        )

    @property
    def config(self) -> dict:
        return {
            "task": "classify",
            "N": self.N,
            "L": self.L,
            "D": self.D,
            "eps": self.eps,
            "K": self.K,
            "B": self.B,
            "a": self.a,
            "p_B": self.p_B,
            "p_C": self.p_C,
            "class_seed": self.seed,
        }

    @property
    def d_model(self) -> int:
        return POSITIONS + self.D

    def _draw(self, shape, rng) -> np.ndarray:
        """Classes drawn i.i.d. from p, by inverse CDF."""
        return np.minimum(np.searchsorted(self._cdf, rng.random(shape), side="right"), self.K - 1)

    def _bursty_classes(self, n: int, rng, burst: int) -> tuple[np.ndarray, np.ndarray]:
        """N/B classes per sequence with distinct labels, the target's (drawn from p) first.

        The other N/B − 1 labels are drawn without replacement in proportion to their classes'
        total mass (Gumbel top-k on the L label masses), then a class within each chosen label in
        proportion to p (inverse CDF within the label). This is the law of Gumbel top-k over all K
        classes keeping the best class of each label: the maximum of Gumbels with locations
        log p_k is a Gumbel with location log Σ p_k, independent of which k attains it."""
        target = self._draw(n, rng)
        keys = self._log_label_mass - np.log(-np.log(rng.random((n, self.L))))
        keys[np.arange(n), target % self.L] = -np.inf
        others = np.argsort(-keys, axis=1)[:, : self.N // burst - 1]  # (n, m) labels
        u = rng.random(others.shape)
        group = (self._cdf_within[others] < u[..., None]).sum(axis=-1)
        group = np.minimum(group, self.K // self.L - 1)
        classes = np.concatenate([target[:, None], group * self.L + others], axis=1)
        return classes, target

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        dtype=np.float64,
        *,
        bursty: bool | None = None,
        novel: bool | None = None,
        shift_labels: int = 0,
        B: int | None = None,
    ) -> SequenceBatch:
        """``n`` sequences from the training mixture; ``bursty``/``novel`` force a kind,
        ``shift_labels`` relabels every class l → l + shift (mod L) and ``B`` sets the copies per
        class of forced bursty sequences (default: the task's B, or 1 when it is 0); n and dtype as
        for :meth:`CopyingTask.sample`."""
        n, dtype = _sampling(self, n, rng, dtype)
        for name, kind in (("bursty", bursty), ("novel", novel)):
            if kind is not None and not isinstance(kind, (bool, np.bool_)):
                raise ValueError(f"{name} must be None, True or False, got {_validate.shown(kind)}")
        shift_labels = self._shift(shift_labels)
        forced = self._burst(B)  # checked even when no sequence is forced bursty
        N, L, D = self.N, self.L, self.D
        burst = forced if bursty else self.B
        is_bursty = (rng.random(n) < self.p_B) & (self.B > 0) if bursty is None else np.full(n, bool(bursty))
        is_novel = rng.random(n) < self.p_C if novel is None else np.full(n, bool(novel))
        classes = np.empty((n, N), dtype=int)
        target = np.empty(n, dtype=int)
        # i.i.d. sequences: every context class and the target's drawn from p.
        iid = ~is_bursty
        if iid.any():
            m = int(iid.sum())
            classes[iid] = self._draw((m, N), rng)
            target[iid] = self._draw(m, rng)
        if is_bursty.any():
            m = int(is_bursty.sum())
            chosen, t = self._bursty_classes(m, rng, burst)
            repeated = np.repeat(chosen, burst, axis=1)  # each class B times
            order = np.argsort(rng.random((m, N)), axis=1)
            classes[is_bursty] = np.take_along_axis(repeated, order, axis=1)
            target[is_bursty] = t
        labels = (classes % L + shift_labels) % L
        answer = (target % L + shift_labels) % L
        class_means, label_vectors = self._arrays(dtype)
        means = class_means[classes]
        target_mean = class_means[target]
        if is_novel.any():
            # Novel classes: a fresh mean for every distinct class of the sequence (found by its
            # first occurrence among the N + 1 class draws) and a random relabelling.
            rows = np.flatnonzero(is_novel)
            ids = np.concatenate([classes[rows], target[rows, None]], axis=1)  # (m, N+1)
            first = (ids[:, :, None] == ids[:, None, :]).argmax(axis=2)
            fresh = _gauss(rng, (len(rows), N + 1, D), D, means.dtype)
            new = np.take_along_axis(fresh, first[:, :, None], axis=1)
            means[rows], target_mean[rows] = new[:, :N], new[:, N]
            relabel = np.argsort(rng.random((len(rows), L)), axis=1)  # a random permutation of labels
            labels[rows] = np.take_along_axis(relabel, labels[rows], axis=1)
            answer[rows] = relabel[np.arange(len(rows)), answer[rows]]
        items = _noisy(means, self.eps, D, rng)
        target_item = _noisy(target_mean, self.eps, D, rng)
        content, offset = assemble(items, labels, target_item, label_vectors, rng, dtype)
        match = classes == target[:, None]
        pair = np.where(match.any(axis=1), match.argmax(axis=1), -1)
        return SequenceBatch(content, offset, answer, labels, pair)

    def _arrays(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """The class means and label vectors in ``dtype`` (float32 copies made once)."""
        return self._float32 if np.dtype(dtype) == np.float32 else (self.means, self.label_vectors)

    def _shift(self, shift) -> int:
        """``shift_labels`` reduced mod L: an integer (integral floats accepted)."""
        whole = isinstance(shift, numbers.Integral) or (isinstance(shift, numbers.Real) and float(shift).is_integer())
        if isinstance(shift, (bool, np.bool_)) or not whole:
            raise ValueError(f"shift_labels must be an integer (taken mod L = {self.L}), got {_validate.shown(shift)}")
        return int(shift) % self.L

    def _burst(self, B: int | None) -> int:
        """Copies per class in a forced bursty sequence: ``B``, else the task's B (1 if it is 0)."""
        if B is None:
            return self.B or 1
        B = _validate.count("B", B, minimum=1)
        if self.N % B or self.N // B > self.L:
            raise ValueError(f"B must divide N = {self.N} with N/B <= L = {self.L}, got {B}")
        return B

    def eval_sets(
        self, n: int, rng: np.random.Generator, dtype=np.float64, *, B: int | None = None
    ) -> dict[str, SequenceBatch]:
        """The three evaluation sets: IC, IC2 and IW (see the class docstring); ``B`` sets the
        burstiness of IC and IC2 (default: the task's, or 1 when it is 0)."""
        return {
            "IC": self.sample(n, rng, dtype, bursty=True, novel=True, B=B),
            "IC2": self.sample(n, rng, dtype, bursty=True, novel=False, shift_labels=1, B=B),
            "IW": self.sample(n, rng, dtype, bursty=False, novel=False),
        }


def make_task(
    task: str = "copy",
    *,
    N: int,
    L: int,
    D: int,
    eps: float,
    K: int | None = None,
    B: int | None = None,
    a: float | None = None,
    p_B: float | None = None,
    p_C: float | None = None,
):
    """A sequence task by name: ``"copy"`` or ``"classify"``.

    Parameters
    ----------
    task : {"copy", "classify"}, default "copy"
        ``"copy"``: a :class:`CopyingTask` of N, L, D, eps (K, B, a, p_B and p_C are ignored);
        ``"classify"``: a :class:`ClassificationTask`. Anything else is a ValueError.
    N, L, D : int
        Pairs per sequence, labels and content width (ranges as for :class:`CopyingTask`).
    eps : float
        Within-class noise, 0 to :data:`MAX_EPS`.
    K, B, a, p_B, p_C : optional
        The classification task's classes, burstiness, Zipf exponent and fractions of bursty
        and novel sequences; those left None take :class:`ClassificationTask`'s defaults.

    Returns
    -------
    CopyingTask or ClassificationTask
        The task, with label seed 0.

    Examples
    --------
    >>> from phenom.nets.tasks import make_task
    >>> make_task("copy", N=2, L=4, D=8, eps=0.5)
    CopyingTask(N=2, L=4, D=8, eps=0.5, seed=0)
    >>> make_task("classify", N=4, L=8, D=16, eps=0.1, K=64)
    ClassificationTask(N=4, L=8, D=16, eps=0.1, K=64, B=1, a=0, p_B=1, p_C=0, seed=0)
    """
    if task == "copy":
        return CopyingTask(N=N, L=L, D=D, eps=eps)
    if task == "classify":
        extra: dict[str, Any] = {k: v for k, v in dict(K=K, B=B, a=a, p_B=p_B, p_C=p_C).items() if v is not None}
        return ClassificationTask(N=N, L=L, D=D, eps=eps, **extra)
    raise ValueError(f"task must be 'copy' or 'classify', got {task!r}")
