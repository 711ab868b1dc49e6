"""
Training the network, beside the flow
=====================================

A pure-numpy two-layer attention network (one-hot positions and contents on 128-dimensional
tokens, causal, residual, a linear read-out; forward and backward written by hand) trained on
the copying task learns the way the β, α, ξ flow does: a plateau, then a sudden drop. This
tutorial trains it, reads its History, and draws its learning curve on the flow's.
"""

import matplotlib.pyplot as plt
import numpy as np

from phenom.induction import predicted_curves
from phenom.nets import AttentionNetwork, CopyingTask, train

# %%
# Train
# -----
# :func:`~phenom.nets.training.train` trains in place on fresh batches and returns a
# :class:`~phenom.nets.history.History`: one row per evaluation (every ``eval_every`` steps),
# its columns read as arrays. The columns a learning curve needs:
#
# - ``hist.step``: the SGD step of each evaluation;
# - ``hist.loss``: the *training* loss, the running mean over the batches since the last
#   evaluation;
# - ``hist.eval_loss``: the loss on a fixed held-out set (``eval_size`` sequences, drawn once);
# - ``hist.icl_acc``, ``hist.p_correct``: held-out accuracy and probability of the correct label;
# - ``hist.beta``, ``hist.alpha``, ``hist.xi``: the model's parameters read off the network.
task = CopyingTask(N=4, L=16, D=63, eps=0.1)
net = AttentionNetwork.init(task, classifier="linear", seed=0)
hist = train(
    net, task, steps=700, lr=0.5, optimizer="sgd", batch_size=128, seed=0, eval_every=10, eval_size=1024, progress=False
)
print(hist)

# %%
# The flow on the network's step axis
# -----------------------------------
# :func:`~phenom.induction.prediction.predicted_curves` runs the time-scale model's flow and
# maps its time to steps with the stored constant (t = c · lr · step): its loss is the
# cross-entropy the β, α, ξ model predicts for the held-out loss.
flow = predicted_curves(4, 16, steps=hist.step, lr=0.5)

fig, (ax_l, ax_p) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
ax_l.plot(hist.step, hist.loss, color="0.6", label="network: training loss (hist.loss)")
ax_l.plot(hist.step, hist.eval_loss, color="k", label="network: held-out loss (hist.eval_loss)")
ax_l.plot(flow.step, flow.loss, color="tab:blue", ls="--", label="flow (time-scale model)")
ax_l.axhline(np.log(16), color="0.8", ls=":", label="log L")
ax_l.set(xlabel="SGD step", ylabel="cross-entropy", title="Copying task, N = 4, L = 16: loss")
ax_l.legend(fontsize="small", loc="lower left")

for name, color in (("xi", "tab:green"), ("alpha", "tab:orange"), ("beta", "tab:purple")):
    ax_p.plot(hist.step, getattr(hist, name), color=color, label=f"network: effective {name}")
    ax_p.plot(flow.step, getattr(flow, name), color=color, ls="--", lw=1, label=f"flow: {name}")
ax_p.set(
    xlabel="SGD step", ylabel="parameter value", ylim=(-0.5, 10), title="β, α, ξ read off the network, and the flow's"
)
ax_p.legend(fontsize="small", ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.15))
plt.show()

# %%
# Both learn ξ first (the intrinsic curriculum: prefer labels that appear in the context), then
# α, then β, and the loss drops when α and β feed each other. The network's ξ rises faster on
# the plateau than the model's; the constant c absorbs that level. The full comparison, with
# three seeds and a fitted time map, is ``phenom compare``.
