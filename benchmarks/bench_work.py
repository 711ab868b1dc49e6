"""CPU time of the units of work behind the slowest figures, against the implementation they replaced.

    python benchmarks/bench_work.py [--repeat R] [--steps-scale F]

``phenom reproduce`` spends its time in three kinds of training run (benchmarks/results/
reproduce.json): the attention network of the scaling sweep (and of growth, compare and the
network figures), the data-dependence sweep's runs, and the K-layer linear-attention networks
of ``lsa_depth``. Each unit below is one such run, shortened, with the figure's own
configuration:

- ``scaling``: one run of the scaling sweep at N = 16, L = 32 (its costliest size), SGD with
  held-out evaluation every 100 steps on 1024 sequences;
- ``data_dependence``: one run of the data-dependence sweep at its base (B = 2, K = 512), scored on
  its IC, IC2 and IW sets as :func:`phenom.figures.jobs.network.data_point` does;
- ``lsa_depth``: one K = 4 linear-attention run (Adam, clipping, cosine schedule, batch 512) with
  its final evaluation on 20 000 held-out tasks.

Each runs with the current code and with the code it replaced (kept here: numpy's float32
``log1p`` in the Box–Muller radius, numpy's stacked products in the linear-attention layers and
the regression sampler, the attention network's scores' gradient in separate numpy passes,
``train()``'s own held-out evaluation in the data-dependence run),
interleaved in one process with one BLAS thread (as ``phenom reproduce``'s workers run), and the
two results are compared number for number (they must be equal: the change is in how the same
arithmetic is done). Reported: CPU seconds (``time.process_time``) of each over ``repeat``
interleaved pairs, the ratio of the fastest (the least disturbed by the neighbours) and of the
medians, and a projection of the full reproduction's work from each figure's time in
benchmarks/results/reproduce.json scaled by its unit's ratio of the fastest. The exact
equality of the compiled Box–Muller radius on all 2^24 float32 uniforms is checked too.

Results go to ``benchmarks/results/work.json``. On a shared machine CPU times still move with
the neighbours' load (caches, memory bandwidth): the ratios, measured side by side, are the
numbers to read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

import numpy as np
from _machine import load_average, machine
from threadpoolctl import threadpool_limits

from phenom import _io, _rng
from phenom.figures.jobs import network as network_jobs
from phenom.figures.jobs.compare import scaling_configs
from phenom.figures.jobs.lsa import regression_task
from phenom.figures.runs import scaling_run
from phenom.figures.settings import DataDependenceSetting, LsaDepthSetting, ScalingSetting
from phenom.linear import model as linear_model
from phenom.linear.task import RegressionBatch
from phenom.nets import AttentionNetwork, LinearAttention, train
from phenom.nets import attention as attention_module
from phenom.nets import tasks as tasks_module
from phenom.nets._box_muller import radius
from phenom.nets._compiled import softmax_backward
from phenom.nets.training import DEFAULT_EVAL_SIZE, EVAL_SHARE

RESULTS = Path(__file__).parent / "results" / "work.json"
REPRODUCE = Path(__file__).parent / "results" / "reproduce.json"

UNIT_OF_FIGURE = {
    "scaling": "scaling",
    "growth": "scaling",
    "compare": "scaling",
    "network_training": "scaling",
    "network_ablation": "scaling",
    "induction_heads": "scaling",
    "data_dependence": "data_dependence",
    "lsa_depth": "lsa_depth",
    "lsa_preconditioner": "lsa_depth",
    "lsa_learning_curves": "lsa_depth",
}
"""The unit whose ratio stands for each figure's work in the projection (others: unchanged)."""


# -- the replaced implementations --------------------------------------------------------------


def _numpy_radius(u: np.ndarray) -> np.ndarray:
    return np.sqrt(np.float32(-2) * np.log1p(-u))


def _numpy_sample_regression(task, n: int, rng: np.random.Generator) -> RegressionBatch:
    d, N = task.d, task.N
    L_sigma = np.linalg.cholesky(task.Sigma)
    L_omega = np.linalg.cholesky(task.Omega)
    w = rng.standard_normal((n, d)) @ L_omega.T
    x = rng.standard_normal((n, N + 1, d)) @ L_sigma.T
    noise = np.sqrt(task.noise) * rng.standard_normal((n, N + 1))
    y = np.einsum("nid,nd->ni", x, w) + noise
    return RegressionBatch(X=x[:, :N], y=y[:, :N], x_q=x[:, N], y_q=y[:, N], w=w)


def _numpy_forward(self, Z):
    N = self.N
    cache = []
    for P, Q in zip(self.P, self.Q, strict=True):
        ctx = Z[:, :, :N]
        A = ctx @ np.swapaxes(ctx, 1, 2)
        C = P @ A @ Q
        cache.append((Z, A, C))
        Z = Z + (C @ Z) / N
    return Z[:, self.d, N], cache


def _numpy_backward(self, dy, cache):
    N, d = self.N, self.d
    G = np.zeros_like(cache[-1][0])
    G[:, d, N] = dy
    dP, dQ = np.zeros_like(self.P), np.zeros_like(self.Q)
    for layer in reversed(range(self.layers)):
        Z, A, C = cache[layer]
        P, Q = self.P[layer], self.Q[layer]
        dC = G @ np.swapaxes(Z, 1, 2) / N
        dP[layer] = np.sum(dC @ Q.T @ A, axis=0)
        dQ[layer] = np.sum(A @ P.T @ dC, axis=0)
        dA = P.T @ dC @ Q.T
        G = G + np.swapaxes(C, 1, 2) @ G / N
        G[:, :, :N] += (dA + np.swapaxes(dA, 1, 2)) @ Z[:, :, :N]
    return {"P": dP, "Q": dQ}


def _unfused_backward(self, dlogits, cache):
    """AttentionNetwork.backward as it was: the gradient of layer 1's scores built in separate
    numpy passes, then the softmax's backward pass on its own."""
    p = self.weights
    g = {}
    g["W"] = dlogits.T @ cache["z"]
    dz = dlogits @ p["W"]
    if self.classifier == "mlp":
        for k in (3, 2, 1):
            dpre = dz * (cache[f"pre{k}"] > 0)
            g[f"W{k}"] = dpre.T @ cache[f"z{k - 1}"]
            g[f"b{k}"] = np.asarray(dpre.sum(), dtype=dpre.dtype)
            dz = dpre @ p[f"W{k}"]
    dh = dz
    tok, A1, a2, r = (cache[k] for k in ("tokens", "A1", "a2", "r"))
    layer1 = cache["ablate"] != "layer1"
    V1 = p["V1"]
    gV1 = np.zeros_like(V1)
    dx_t = dh
    n, T = a2.shape
    work = getattr(tok, "work", None)
    dA = None
    if layer1:
        dA = attention_module._array(work, "dA", A1.shape, A1.dtype)
        dA.fill(0)
    if cache["ablate"] != "layer2":
        # h = x_t + V2 m, m = Xᵀ a2 + V1 Xᵀ w, w = Aᵀ a2.
        g["V2"] = dh.T @ cache["m"]
        dm = dh @ p["V2"]
        dmw = tok.dot(np.stack([dm, dm @ V1], axis=1))  # (n, T, 2): ∂/∂a2 via Xᵀa2, ∂/∂w
        da2 = dmw[..., 0]
        if layer1:
            gV1 += dm.T @ cache["Xw"]
            da2 = da2 + (A1 @ dmw[..., 1:])[..., 0]
            np.multiply(a2[:, :, None], dmw[:, None, :, 1], out=dA)  # dA was zero
        # a2 = softmax(s), s = X r + A X q with q = V1ᵀ r, r = G2ᵀ x_t.
        ds = a2 * (da2 - np.sum(a2 * da2, axis=1, keepdims=True))
        back = tok.weighted(np.stack([ds, (ds[:, None, :] @ A1)[:, 0]], axis=1))  # Xᵀ ds, Xᵀ Aᵀ ds
        dr = back[:, 0]
        if layer1:
            dA += np.multiply(
                ds[:, :, None],
                cache["Xq"][:, None, :],
                out=attention_module._array(work, "dA_term", A1.shape, A1.dtype),
            )
            dq = back[:, 1]
            dr = dr + dq @ V1.T
            gV1 += r.T @ dq
        dG2 = cache["x_t"].T @ dr
        dx_t = dh + dr @ cache["G2"].T
        g["Q2"], g["K2"] = p["K2"] @ dG2.T, p["Q2"] @ dG2
    else:
        g["V2"] = g["Q2"] = g["K2"] = np.zeros_like(p["V2"])
    # x_t = x_T + V1 y, y = Xᵀ A_t. The input tokens are data: no gradient flows into X.
    if layer1:
        assert dA is not None  # made above when layer1
        gV1 += dx_t.T @ cache["y"]
        dA[:, -1] += tok.dot((dx_t @ V1)[:, None, :])[..., 0]
        softmax_backward(A1, dA)  # dA becomes the gradient of the scores
        dG1 = tok.sandwich(dA)  # Σ Xᵀ dS X
        g["V1"], g["Q1"], g["K1"] = gV1, p["K1"] @ dG1.T, p["Q1"] @ dG1
    else:
        g["V1"] = g["Q1"] = g["K1"] = np.zeros_like(p["V1"])
    return g


@contextlib.contextmanager
def _replaced():
    """The code as it was: numpy's radius, stacked products, the unfused scores' gradient
    (``train()``'s own evaluation is in :func:`_data_point_with_train_evaluation`)."""
    saved = (
        tasks_module.box_muller_radius,
        linear_model.sample_regression,
        LinearAttention.forward,
        LinearAttention.backward,
        AttentionNetwork.backward,
    )
    tasks_module.box_muller_radius = _numpy_radius
    linear_model.sample_regression = _numpy_sample_regression
    LinearAttention.forward, LinearAttention.backward = _numpy_forward, _numpy_backward  # type: ignore[method-assign]
    AttentionNetwork.backward = _unfused_backward  # type: ignore[method-assign]
    try:
        yield
    finally:
        (
            tasks_module.box_muller_radius,
            linear_model.sample_regression,
            LinearAttention.forward,
            LinearAttention.backward,
            AttentionNetwork.backward,
        ) = saved


# -- the units ---------------------------------------------------------------------------------


def scaling_unit(steps: int, replaced: bool):
    """The first ``steps`` of the scaling sweep's run at N = 16, L = 32, seed 0 (its own stop rule
    off: every step is trained)."""
    config = next(c for c in scaling_configs(ScalingSetting()) if (c["N"], c["L"], c["seed"]) == (16, 32, 0))
    config = {**config, "steps": steps}
    with _replaced() if replaced else contextlib.nullcontext():
        _, hist = scaling_run(config, stop_at=2.0)  # accuracy never reaches 2: no early stop
    return hist.records


def _data_point_with_train_evaluation(config: dict, eval_size: int) -> dict:
    """:func:`phenom.figures.jobs.network.data_point` as it was: ``train()`` also evaluated the
    network every 100 steps on a held-out set (of its default size), whose results nothing read."""
    c = config
    task = network_jobs.data_task(c)
    net = AttentionNetwork.init(task, "linear", seed=c["seed"])
    sets = task.eval_sets(c["eval_size"], _rng.stream(20_000 + c["seed"], "eval"), dtype=net.dtype, B=c["eval_B"])
    curve: dict[str, list] = {"step": [], **{kind: [] for kind in network_jobs.EVAL_KINDS}}

    def score(step: int) -> None:
        curve["step"].append(step)
        for kind, batch in sets.items():
            curve[kind].append(net.metrics(batch, task)["icl_acc"])

    def record(hist) -> bool:
        if 0 < hist.step[-1] and hist.step[-1] % c["curve_every"] == 0:
            score(int(hist.step[-1]))
        return False

    score(0)
    hist = train(
        net,
        task,
        steps=c["steps"],
        lr=c["lr"],
        optimizer="sgd",
        batch_size=c["batch_size"],
        weight_decay=c["weight_decay"],
        seed=c["seed"],
        eval_every=min(100, c["curve_every"]),
        eval_size=eval_size,
        stop_when=record,
        progress=False,
    )
    score(c["steps"])
    final = {name: curve[kind][-1] for kind, name in network_jobs.EVAL_KINDS.items()}
    return {**final, "curve": curve, "final_loss": float(hist.loss[-1]), "task": task.config}


def data_dependence_unit(steps: int, replaced: bool):
    """One run of the data-dependence sweep at its base, seed 0, shortened to ``steps`` (a multiple
    of its scoring interval, 500 steps, so that training, scoring and evaluation keep about the
    full run's proportions)."""
    setting = DataDependenceSetting()
    base = setting.base()
    config = next(c for c in network_jobs.data_configs(setting) if c["seed"] == 0 and {k: c[k] for k in base} == base)
    # train()'s default held-out set in the full run (2500 steps, 26 evaluations): 2051 sequences.
    full = config["steps"] * config["batch_size"] // (EVAL_SHARE * (config["steps"] // 100 + 1))
    config = {**config, "steps": steps}  # scored every curve_every = 500 steps, as in the sweep
    if replaced:
        with _replaced():
            return _data_point_with_train_evaluation(config, min(DEFAULT_EVAL_SIZE, full))
    return network_jobs.data_point(config)


def lsa_depth_unit(steps: int, replaced: bool):
    """The first ``steps`` of ``lsa_depth``'s K = 4, seed 0 run (its cosine schedule over those
    steps), evaluated at the end on its 20 000 held-out tasks."""
    s = LsaDepthSetting()
    task = regression_task(s)
    with _replaced() if replaced else contextlib.nullcontext():
        net = LinearAttention.init(s.d, s.N, 4, scale=s.init_scale, seed=0)
        hist = train(
            net,
            task,
            steps=steps,
            lr=s.lr,
            optimizer="adam",
            batch_size=s.batch_size,
            seed=0,
            eval_seed=s.eval_seed,
            eval_size=s.eval_size,
            schedule="cosine",
            clip_norm=s.clip_norm,
            eval_every=steps,
            progress=False,
        )
    return {"records": hist.records, "P": net.P.tolist(), "Q": net.Q.tolist()}


UNITS = {
    "scaling": (scaling_unit, 400),
    "data_dependence": (data_dependence_unit, 1000),
    "lsa_depth": (lsa_depth_unit, 300),
}


def _cpu(fn, *args) -> tuple[float, object]:
    start = time.process_time()
    out = fn(*args)
    return time.process_time() - start, out


def radius_is_exact() -> bool:
    """The compiled Box–Muller radius against numpy's on every float32 uniform k / 2^24."""
    u = np.arange(2**24, dtype=np.float32) * np.float32(2.0**-24)
    return bool(np.array_equal(radius(u).view(np.uint32), _numpy_radius(u).view(np.uint32)))


def project(ratios: dict[str, float]) -> dict:
    """Each figure's time in the last full reproduction, scaled by its unit's ratio."""
    figures = _io.read_json(REPRODUCE)["full"]["alone"]["figures_s"]
    before = sum(figures.values())
    after = {n: t * ratios.get(UNIT_OF_FIGURE.get(n, ""), 1.0) for n, t in figures.items()}
    return {
        "figures_s_before": figures,
        "figures_s_projected": {n: round(t, 1) for n, t in after.items()},
        "sum_before_s": round(before, 1),
        "sum_projected_s": round(sum(after.values()), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved pairs per unit (default 3)")
    parser.add_argument("--steps-scale", type=float, default=1.0, help="scale every unit's step count")
    parser.add_argument("--units", nargs="*", default=list(UNITS), choices=list(UNITS))
    args = parser.parse_args()
    threadpool_limits(1)
    result: dict = {"machine": machine(), "versions": _io.provenance(), "load_average_at_start": load_average()}
    result["radius_exact_on_all_float32_uniforms"] = radius_is_exact()
    for name in args.units:  # compile and load every kernel once, outside the timings
        fn, steps = UNITS[name]
        fn(4, False)
    units = {}
    for name in args.units:
        fn, steps = UNITS[name]
        steps = max(4, int(steps * args.steps_scale))
        new, old, identical = [], [], True
        for _ in range(args.repeat):
            t_old, r_old = _cpu(fn, steps, True)
            t_new, r_new = _cpu(fn, steps, False)
            old.append(t_old)
            new.append(t_new)
            identical &= json.dumps(_io.plain(r_old), sort_keys=True) == json.dumps(_io.plain(r_new), sort_keys=True)
        units[name] = {
            "steps": steps,
            "replaced_cpu_s": [round(t, 3) for t in old],
            "current_cpu_s": [round(t, 3) for t in new],
            "ratio": round(float(min(new) / min(old)), 3),
            "ratio_of_medians": round(float(np.median(new) / np.median(old)), 3),
            "identical_results": identical,
        }
        print(
            f"{name}: {min(old):.2f} s → {min(new):.2f} s CPU, fastest of {args.repeat} ({units[name]['ratio']:.2f}×; "
            f"medians {units[name]['ratio_of_medians']:.2f}×), "
            f"results {'identical' if identical else 'DIFFERENT'}",
            flush=True,
        )
    result["units"] = units
    result["load_average_at_end"] = load_average()
    if set(args.units) == set(UNITS):
        result["projection"] = project({n: u["ratio"] for n, u in units.items()})
        p = result["projection"]
        print(f"reproduce work: {p['sum_before_s']:.0f} s → {p['sum_projected_s']:.0f} s (projected)")
    _io.write_json(RESULTS, result)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
