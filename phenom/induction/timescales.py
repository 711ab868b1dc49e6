"""The time-scale model: how fast the network's effective β, α, ξ move, by counting which share
of the data trains each of their factors (Reddy, ICLR 2024, Sec. 4 gives the mean-field flow
whose rates this sets).

The mean-field model ties each parameter to one scalar; the network carries each in products of
weights, and each factor is pushed by its own share of the data. Gradient descent on a product
θ = u·v of two factors, du/dt = r_u v g and dv/dt = r_v u g (g = −∂loss/∂θ, r the share of the
data that pushes each factor), conserves v²/r_v − u²/r_u. On the balanced orbit (that quantity
zero)

    dθ/dt = g (r_u v² + r_v u²) = 2 √(r_u r_v) |θ| g,

so the product moves √(r_u r_v) times as fast as one whose factors see every example (checked
symbolically in the tests). The network starts its factors at equal norms a, not balanced: the
product first moves at (r_u + r_v)/2 times the tied rate and reaches the balanced rate once
|θ| ≫ a²; integrated from u₀ = v₀ = a, the slowdown approaches √(r_u r_v)⁻¹ from below as a
shrinks (0.95·√L at a = 10⁻⁴, 0.79·√L at a = 0.1 for L = 64; tested). Each effective parameter
gets its ratio as its entry of a diagonal metric C, in the flow dθ/dt = −lr C ∇loss(θ)
(:func:`phenom.flow.gradient_flow`'s ``metric``; :func:`time_scales`):

- **C_β = Σ_p f_p²** (counted): β is previous-token attention, carried by the position–position
  entries of Q1ᵀK1 (query at a label's slot p, key at p − 1). A sequence of 2N + 1 tokens starts
  at a uniformly random offset among :data:`POSITIONS` = 65 position slots; f_p is the share of
  label occurrences at slot p (:func:`label_slot_shares`; the share of sequences with a label
  there, each label weighing 1/N in ILA1). Both factors are position-specific, √(f_p f_p) = f_p,
  and the reading Σ_p f_p G_p moves at Σ_p f_p² times the tied rate. By hand: 1/63 for N = 1,
  240/122² for N = 2, 1/N for N = 32.
- **C_α = 1** (counted): α is the match of the target's item against the copy of the previous
  item that layer 1 wrote into the label token, carried by the content block of Q2ᵀK2 and by V1.
  Items are drawn afresh in every sequence, so both maps are pushed by every sequence.
- **C_ξ = 1/√L** (exponent measured): ξ is the read-out's alignment with the label layer 2
  copies: the read-out row of label ℓ (pushed only by the sequences whose answer is ℓ: 1/L) times
  V2's action on ℓ's label vector. The L label vectors are fixed, so counting alone does not
  settle V2's share: a column per label (1/L, giving C_ξ = 1/L) or one map shared by all labels
  (1, giving 1/√L). The network's measured rate of ξ (:func:`phenom.nets.probes.measured_metric`)
  over the plateau falls as about L^(−1/2) at N = 4 and 8 (growth figure), so the model takes
  1/√L; C_ξ = 1/L ordered the transitions at N = 2, 4, 8 worse when the form was chosen.

The flow starts where the untrained network is, θ₀ = (β₀(N), 0, 0) (:func:`initial_state`):
layer-1 attention is close to uniform at initialisation, so the label at token 2k+1 gives its
item 1/(2k+2) and ILA1 = H_N/(2N), β₀ = log(N y/(1 − y)) (the inversion of
:mod:`phenom.nets.measures`); the target attends to 2N + 1 tokens, TILA2 = 1/(2N + 1), which
reads α₀ = 0; the margin is 0.

Not modelled: the product's |θ| growth law and the unbalanced start (the flow keeps the
mean-field shape and changes only the rates), and D and ε, on which the counting does not depend.
The constant that maps this flow's time to network steps is in :mod:`phenom.induction.prediction`.
"""

from __future__ import annotations

import numpy as np

from phenom import _validate

__all__ = ["POSITIONS", "label_slot_shares", "time_scales", "initial_state"]

POSITIONS = 65
"""Position slots of the networks the model describes (the sequence task's ``POSITIONS``, which a
test checks against; kept here so that the theory imports nothing from the networks)."""


def label_slot_shares(N: int) -> np.ndarray:
    """f_p: the share of label occurrences at each of the 65 position slots.

    For sequences of 2N + 1 tokens (labels at tokens 1, 3, …, 2N − 1) at a uniformly random
    offset among the :data:`POSITIONS` slots.

    Parameters
    ----------
    N : int
        Item–label pairs, from 1 to 32 (2N + 1 tokens fit the 65 slots).

    Returns
    -------
    ndarray, shape (65,)
        The shares f_p, summing to 1.

    Examples
    --------
    With one pair the label sits at token 1 of a 3-token sequence, whose 63 offsets put it on 63
    slots equally: Σ_p f_p² = 1/63, the rate C_β of :func:`time_scales`. With two pairs the
    hand count gives 240/122².

    >>> import numpy as np
    >>> from phenom.induction.timescales import label_slot_shares
    >>> f = label_slot_shares(1)
    >>> int(np.count_nonzero(f)), round(float(np.sum(f**2)), 6), round(1 / 63, 6)
    (63, 0.015873, 0.015873)
    >>> round(float(np.sum(label_slot_shares(2) ** 2)), 6), round(240 / 122**2, 6)
    (0.016125, 0.016125)
    """
    N = _validate.count_within("N", N, 1, (POSITIONS - 1) // 2, "2N + 1 tokens fit the 65 position slots")
    T = 2 * N + 1
    counts = np.zeros(POSITIONS)
    for offset in range(POSITIONS - T + 1):
        counts[offset + 2 * np.arange(N) + 1] += 1
    return counts / counts.sum()


def time_scales(N: int, L: int) -> np.ndarray:
    """The metric (C_β, C_α, C_ξ) = (Σ_p f_p², 1, 1/√L) of the time-scale model (module docstring).

    Parameters
    ----------
    N : int
        Item–label pairs, from 1 to 32.
    L : int >= N
        Labels.

    Returns
    -------
    ndarray, shape (3,)
        (C_β, C_α, C_ξ), the diagonal ``metric`` of
        :func:`~phenom.induction.model.induction_flow`.

    Examples
    --------
    At N = 32 the 65-token sequence has one offset, so each label slot holds 1/32 of the labels
    and C_β = 1/N; C_ξ = 1/√64:

    >>> from phenom.induction.timescales import time_scales
    >>> time_scales(32, 64).tolist()
    [0.03125, 1.0, 0.125]
    >>> time_scales(8, 32).round(6).tolist()
    [0.018222, 1.0, 0.176777]
    """
    N, L = _validate.pairs(_validate.plain(N), _validate.plain(L))
    return np.array([float(np.sum(label_slot_shares(N) ** 2)), 1.0, 1.0 / np.sqrt(L)])


def initial_state(N: int) -> np.ndarray:
    """(β₀, α₀, ξ₀) = (log(N y/(1 − y)), 0, 0) with y = H_N/(2N): the untrained network's start.

    The untrained network's effective parameters under uniform attention (module docstring),
    for N from 1 to 32 (the 2N + 1 tokens of a sequence fit the :data:`POSITIONS` slots, as in
    :func:`label_slot_shares`).

    Parameters
    ----------
    N : int
        Item–label pairs, from 1 to 32.

    Returns
    -------
    ndarray, shape (3,)
        (β₀, 0, 0).

    Examples
    --------
    With one pair the label's predecessor gets y = 1/2 of its attention, which reads β₀ = 0;
    at N = 8, y = H_8/16:

    >>> import numpy as np
    >>> from phenom.induction.timescales import initial_state
    >>> initial_state(1).tolist()
    [0.0, 0.0, 0.0]
    >>> y = sum(1 / k for k in range(1, 9)) / 16
    >>> round(float(initial_state(8)[0]), 6), round(float(np.log(8 * y / (1 - y))), 6)
    (0.492865, 0.492865)
    """
    N = _validate.count_within("N", N, 1, (POSITIONS - 1) // 2, "2N + 1 tokens fit the 65 position slots")
    y = float(np.sum(1.0 / (2.0 * np.arange(1, N + 1)))) / N
    return np.array([float(np.log(N * y / (1 - y))), 0.0, 0.0])
