"""
A sweep on a Dask cluster
=========================

:func:`~phenom.figures.sweep.sweep` runs a function over a list of configurations on any
``concurrent.futures`` executor, saves each result as it finishes, and resumes where an
interrupted sweep stopped. A Dask cluster's executor is one such executor. Here a small local
cluster (two single-threaded workers) runs four network trainings of the scaling study and the
time-scale model's prediction is set beside each transition step. Its workers are threads of
this process, so the script runs as it is, also inside a documentation build; workers in
processes of their own (``processes=True``, the default) need the script's code under
``if __name__ == "__main__":``, and on a real cluster the client connects to its scheduler
(``Client("tcp://scheduler:8786")``).
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from distributed import Client, LocalCluster

from phenom.figures.runs import scaling_point
from phenom.figures.sweep import grid, sweep
from phenom.induction import predicted_step

# %%
# The configurations
# ------------------
# :func:`~phenom.figures.sweep.grid` takes the product of its lists: N = 2, L in {3, 4, 8, 16},
# one seed, 400 SGD steps with an evaluation every 10 (the transition step is read from the
# held-out ICL accuracy). :func:`~phenom.figures.runs.scaling_point` trains one network and
# returns its transition step; it is a module-level function, so Dask can ship it to workers.
configs = grid(
    N=[2],
    L=[3, 4, 8, 16],
    D=[63],
    eps=[0.1],
    seed=[0],
    lr=[0.5],
    steps=[400],
    eval_every=[10],
    eval_size=[512],
    batch_size=[128],
    weight_decay=[0.0],
)
print(len(configs), "configurations, e.g.", configs[0])

# %%
# Run on the cluster
# ------------------
# ``out`` is the sweep's file (one JSON line per finished configuration); running the same sweep
# again reads the finished results back instead of computing them.
folder = Path(tempfile.mkdtemp())
with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
    with Client(cluster) as client:
        result = sweep(
            scaling_point, configs, executor=client.get_executor(), out=folder / "scaling.jsonl", progress=False
        )
        again = sweep(
            scaling_point, configs, executor=client.get_executor(), out=folder / "scaling.jsonl", progress=False
        )  # nothing is recomputed: every result is in the file
print("the re-run returned the same results:", list(again) == list(result))

rows = [(config["L"], row["net_step"], predicted_step(config["N"], config["L"])) for config, row in result.pairs()]
for L, measured, predicted in rows:
    print(f"N = 2, L = {L:2d}: network {measured:.0f}, time-scale model {predicted:.0f}")

# %%
# The transition steps against the prediction
# -------------------------------------------
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
Ls = [L for L, _, _ in rows]
ax.plot(Ls, [m for _, m, _ in rows], "ko-", label="network (seed 0), from the sweep")
ax.plot(Ls, [p for _, _, p in rows], "s--", color="tab:blue", label="time-scale model")
ax.set(
    xscale="log",
    xticks=Ls,
    xticklabels=[str(L) for L in Ls],
    ylim=(0, None),
    xlabel="L (labels)",
    ylabel="transition step",
    title="N = 2, SGD lr 0.5: one sweep on a Dask cluster",
)
ax.minorticks_off()
ax.legend()
plt.show()

# %%
# At N = 2 the network's transition step barely depends on L, and the model, with its constant
# fitted at N = 8, L = 32, comes early here. The scaling study (``phenom scaling``) runs the same
# function over N = 2 to 16 and L up to 8N, with three seeds, on a local process pool by default.
