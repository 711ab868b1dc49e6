"""
In context or in weights: what the data decide
==============================================

Reddy (2024, Sec. 3), after Chan et al. (2022), trains the same network on in-context
*classification*: K classes with fixed means, each with a fixed label (class k has label
k mod L). A network can answer from the context (in-context learning, ICL) or from its weights
(in-weights learning, IWL). :class:`~phenom.nets.tasks.ClassificationTask` samples this task and
its three held-out sets:

- **IC**: bursty contexts of *novel* classes (fresh means, random labels): only ICL solves them;
- **IC2**: bursty contexts of the stored classes with every label shifted by one: answering from
  the weights is always wrong there;
- **IW**: i.i.d. contexts of the stored classes: the target's class is rarely in the context, so
  only IWL solves them.

Burstiness decides. In a *bursty* context (B >= 1) the target's class is among the context's
N/B classes, each appearing B times; with B = 0 every class, the target's too, is drawn i.i.d.
from all K. Trained on bursty contexts (B = 1) the network learns in context; on i.i.d.
contexts it learns in its weights.
"""

import matplotlib.pyplot as plt
import numpy as np

from phenom.nets import AttentionNetwork, train
from phenom.nets.tasks import ClassificationTask

KINDS = {"IC": "tab:blue", "IC2": "tab:orange", "IW": "tab:green"}


def run(B: int, steps: int = 1000, every: int = 100) -> dict:
    """Train on the task with burstiness B; score IC, IC2 and IW every ``every`` steps."""
    task = ClassificationTask(N=4, L=16, D=63, eps=0.1, K=512, B=B, seed=0)
    net = AttentionNetwork.init(task, classifier="linear", seed=0)
    # IC and IC2 hold N = 4 distinct classes in both runs: both answer the same in-context question
    sets = task.eval_sets(512, np.random.default_rng(100), dtype=net.dtype, B=1)
    curve: dict[str, list] = {"step": [], **{kind: [] for kind in KINDS}}

    def score(step: int) -> None:
        curve["step"].append(step)
        for kind, batch in sets.items():
            curve[kind].append(net.metrics(batch, task)["icl_acc"])

    def on_evaluation(hist) -> bool:  # train() calls it after each evaluation; False: keep training
        score(int(hist.step[-1]))
        return False

    # eval_size=0: no held-out set of train()'s own, only the step and the training loss
    hist = train(
        net,
        task,
        steps=steps,
        lr=0.5,
        batch_size=128,
        seed=0,
        eval_every=every,
        eval_size=0,
        stop_when=on_evaluation,
        progress=False,
    )
    if curve["step"][-1] != hist.step[-1]:  # the last step's evaluation, if it was not asked about
        score(int(hist.step[-1]))
    return curve


curves = {B: run(B) for B in (0, 1)}
for B, curve in curves.items():
    print(f"B = {B}: " + ", ".join(f"{kind} {curve[kind][-1]:.3f}" for kind in KINDS))

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, layout="constrained")
for ax, (B, curve) in zip(axes, curves.items(), strict=True):
    for kind, color in KINDS.items():
        ax.plot(curve["step"], curve[kind], color=color, marker=".", label=kind)
    ax.axhline(1 / 4, color="0.6", ls=":", label="1/N: a guess among context labels")
    ax.set(xlabel="SGD step", title=f"K = 512 classes, B = {B}" + (" (i.i.d. contexts)" if B == 0 else " (bursty)"))
axes[0].set_ylabel("held-out accuracy (N = 4, L = 16)")
axes[1].legend(loc="center right")
plt.show()

# %%
# With i.i.d. contexts the network stores the classes' labels (IW climbs) and does not read the
# context (IC stays near 1/L, IC2 near 0: it answers the stored label). With bursty contexts it
# learns to copy from the context (IC and IC2 rise together, far above the 1/N of a guess among
# the context's labels) and stores little (IW stays low). The README's
# ``phenom data_dependence`` sweeps burstiness, the number of classes, within-class noise and
# the Zipf exponent one at a time (N = 8, L = 32, two seeds).
