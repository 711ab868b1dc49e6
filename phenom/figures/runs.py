"""The time-scale model: how fast the network's effective β, α, ξ move, by counting which share
of the data trains each of their factors, and the network's measured rates to check it against.

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
(:func:`phenom.flow.gradient_flow`'s ``metric``):

- **C_β = Σ_p f_p²** (counted): β is previous-token attention, carried by the position–position
  entries of Q1ᵀK1 (query at a label's slot p, key at p − 1). A sequence of 2N + 1 tokens starts
  at a uniformly random offset among 65 position slots; f_p is the share of label occurrences at
  slot p (the share of sequences with a label there, each label weighing 1/N in ILA1). Both
  factors are position-specific, √(f_p f_p) = f_p, and the reading Σ_p f_p G_p moves at
  Σ_p f_p² times the tied rate. By hand: 1/63 for N = 1, 240/122² for N = 2, 1/N for N = 32.
- **C_α = 1** (counted): α is the match of the target's item against the copy of the previous
  item that layer 1 wrote into the label token, carried by the content block of Q2ᵀK2 and by V1.
  Items are drawn afresh in every sequence, so both maps are pushed by every sequence.
- **C_ξ = 1/√L** (exponent measured): ξ is the read-out's alignment with the label layer 2
  copies: the read-out row of label ℓ (pushed only by the sequences whose answer is ℓ: 1/L) times
  V2's action on ℓ's label vector. The L label vectors are fixed, so counting alone does not
  settle V2's share: a column per label (1/L, giving C_ξ = 1/L) or one map shared by all labels
  (1, giving 1/√L). The network's measured rate of ξ (:func:`measured_metric`) over the plateau
  falls as about L^(−1/2) at N = 4 and 8 (growth figure), so the model takes 1/√L; C_ξ = 1/L
  ordered the transitions at N = 2, 4, 8 worse when the form was chosen.

The flow starts where the untrained network is, θ₀ = (β₀(N), 0, 0): layer-1 attention is
close to uniform at initialisation, so the label at token 2k+1 gives its item 1/(2k+2) and
ILA1 = H_N/(2N), β₀ = log(N y/(1 − y)) (:mod:`phenom.nets.measures`); the target attends to
2N + 1 tokens, TILA2 = 1/(2N + 1), which reads α₀ = 0; the margin is 0.

One global constant c maps flow time to steps, step = t/(c · lr) (:mod:`phenom.compare`): it
carries what every configuration shares (feature norms, the scale of the weights against the
model's scalars). Nothing is fitted per configuration. Not modelled: the product's |θ| growth
law and the unbalanced start (the flow keeps the mean-field shape and changes only the rates),
and D and ε, on which the counting does not depend (the study holds them at D = max(63, L),
ε = 0.1). The measured levels of C are not the model's: see the growth figure.

The evidence is measured, not assumed: :func:`tangent_rates` measures the rate at which each
effective parameter moves under one gradient step of the network (its tangent kernel with the
loss), :func:`measured_metric` its ratio to the mean-field rate, C_k, and
:func:`metric_along_training` follows C_k along the scaling study's own runs.
"""

from __future__ import annotations

import numpy as np

from phenom import _rng
from phenom.induction.model import PARAMETERS
from phenom.nets.measures import stop_level, transition_level, transition_step
from phenom.nets.probes import measured_metric

__all__ = ['metric_along_training', 'scaling_point', 'scaling_run']


def metric_along_training(config: dict, *, probe_every: int, probe_size: int = 2048, probe_seed: int = 99) -> dict:
    """The measured metric C along one training run of the scaling study.

    The run is :func:`phenom.compare.scaling_run`'s for ``config`` (same seeds, same batches:
    measuring does not change it), continued until two evaluations in a row reach 0.9; every ``probe_every`` steps (a multiple of the config's
    ``eval_every``, before the last step of the budget) the network is measured on
    ``probe_size`` sequences from ``probe_seed``.
    Returns the probe steps, the effective (β, α, ξ) there and C for each parameter (None where
    the mean-field rate vanishes), and the run's history.
    """
    from phenom import _validate
    from phenom.figures.runs import scaling_run

    probe_every = _validate.count("probe_every", probe_every)
    if probe_every % config["eval_every"]:
        raise ValueError(f"probe_every must be a multiple of eval_every = {config['eval_every']}, got {probe_every}")
    rows = []
    probe = {}

    def measure(net, task, hist):
        step = int(hist.step[-1])
        if step % probe_every:
            return
        if "batch" not in probe:
            probe["batch"] = task.sample(probe_size, _rng.stream(probe_seed, "eval"), dtype=np.float64)
        state = net.metrics(probe["batch"], task)
        rows.append({"step": step, **{k: state[k] for k in PARAMETERS},
                     "C": measured_metric(net, task, probe["batch"])})

    _, hist = scaling_run(config, on_evaluation=measure, stop_at=0.9)
    return {"config": dict(config), "probe_seed": probe_seed, "probes": rows, "history": hist.records}


def scaling_point(config: dict) -> dict:
    """One network run of the scaling study (module-level, so process pools and Dask can ship it).

    ``config``: N, L, D, eps, seed, lr, steps, eval_every, eval_size, batch_size, weight_decay
    (:meth:`phenom.figures.settings.ScalingSetting.configs` makes them). Training stops once two held-out
    evaluations in a row reach :func:`stop_level`. Returns the network's transition step
    (None if it never reaches :func:`transition_level`) and the last step trained.
    """
    _, hist = scaling_run(config)
    return {"net_step": transition_step(hist.step, hist.icl_acc, transition_level(config["N"])),
            "last_step": int(hist.step[-1]),
            "final_icl_acc": float(hist.icl_acc[-1]), "max_icl_acc": float(np.max(hist.icl_acc))}


def scaling_run(config: dict, on_evaluation=None, stop_at: float | None = None):
    """The training run behind :func:`scaling_point`: (network, History). Training stops once two
    evaluations in a row reach ICL accuracy ``stop_at`` (default :func:`stop_level`, which leaves
    the transition step unchanged: the history up to it is the same). ``on_evaluation(net, task,
    history)`` is called after every evaluation (e.g. to measure the network there); it must not
    change the network."""
    from phenom.nets import AttentionNetwork, CopyingTask, train

    task = CopyingTask(N=config["N"], L=config["L"], D=config["D"], eps=config["eps"])
    net = AttentionNetwork.init(task, "linear", seed=config["seed"])

    level = stop_level(config["N"]) if stop_at is None else stop_at

    def done(hist) -> bool:
        if on_evaluation is not None:
            on_evaluation(net, task, hist)
        acc = hist.icl_acc
        return len(acc) >= 2 and bool(np.all(acc[-2:] >= level))

    hist = train(net, task, steps=config["steps"], lr=config["lr"], optimizer="sgd", batch_size=config["batch_size"],
                 seed=config["seed"], weight_decay=config["weight_decay"], eval_every=config["eval_every"],
                 eval_size=config["eval_size"], progress=False, stop_when=done)
    return net, hist
