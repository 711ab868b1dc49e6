"""
Predicting a network's transition from the time-scale model
===========================================================

The network carries each of β, α, ξ in a product of weights, and each factor is pushed by its
own share of the data. The time-scale model turns those shares into a diagonal metric C of the
flow dθ/dt = −lr C ∇loss(θ), starts it where the untrained network is, and maps flow time to
network steps with one constant c stored with the package (t = c · lr · step). Nothing is
fitted per configuration. Here we predict the transition step over L at N = 2, then train a
network at N = 2, L = 8 and put its held-out accuracy beside the predicted curve.
"""

import matplotlib.pyplot as plt
import numpy as np

from phenom.induction import TIME_CONSTANTS, initial_state, predicted_curves, predicted_step, time_scales
from phenom.nets import AttentionNetwork, CopyingTask, train

# %%
# The model's ingredients and its predictions
# -------------------------------------------
# :func:`~phenom.induction.timescales.time_scales` gives C = (C_β, C_α, C_ξ) by counting,
# :func:`~phenom.induction.timescales.initial_state` the start θ₀ read off the untrained
# network, and :func:`~phenom.induction.prediction.predicted_step` the transition step (held-out
# ICL accuracy halfway from 1/N to 1) at SGD rate lr = 0.5.
print("C at (2, 8):", np.round(time_scales(2, 8), 4), " theta0:", np.round(initial_state(2), 3))
print("stored constant c =", TIME_CONSTANTS["time_scales"]["c"])
for L in (3, 4, 8, 16):
    print(
        f"N = 2, L = {L:2d}: predicted step {predicted_step(2, L):6.1f} "
        f"(mean-field flow: {predicted_step(2, L, model='mean_field'):6.1f})"
    )

# %%
# A network against the prediction
# --------------------------------
# The two-layer attention network on the copying task, trained by plain SGD (lr 0.5, batch 128)
# with an evaluation every 10 steps. ``hist.icl_acc`` is the held-out ICL accuracy.
task = CopyingTask(N=2, L=8, D=63, eps=0.1)
net = AttentionNetwork.init(task, classifier="linear", seed=0)
hist = train(net, task, steps=400, lr=0.5, batch_size=128, seed=0, eval_every=10, progress=False)
level = 0.5 * (1 / task.N + 1)
crossed = hist.step[np.argmax(hist.icl_acc >= level)]
print(hist)
print(f"network passes halfway at step {crossed}; predicted {predicted_step(2, 8):.0f}")

# %%
# :func:`~phenom.induction.prediction.predicted_curves` puts the model's flow on the network's
# step axis: its ``p_correct`` is the probability of the correct label, the counterpart of the
# network's held-out ``p_correct``.
curves = predicted_curves(2, 8, steps=hist.step)
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.plot(hist.step, hist.p_correct, color="k", label="network: held-out P(correct)")
ax.plot(hist.step, hist.icl_acc, color="0.5", lw=1, label="network: held-out ICL accuracy")
ax.plot(curves.step, curves.p_correct, color="tab:blue", ls="--", label="time-scale model: P(correct)")
ax.axvline(curves.transition_step, color="tab:blue", ls=":", label=f"predicted step {curves.transition_step:.0f}")
ax.axvline(crossed, color="k", ls=":", label=f"network halfway, step {crossed}")
ax.set(xlabel="SGD step", ylabel="probability / accuracy", ylim=(0, 1.02))
ax.set_title("N = 2, L = 8, lr 0.5: the transition predicted, nothing fitted here")
ax.legend(loc="lower right", fontsize="small")
plt.show()

# %%
# The prediction is for *when* the transition comes. N = 2 is where the model is least accurate
# (the network's step barely depends on L there); over the scaling study's other sizes its median
# error is 6–8% (``phenom scaling``). The model's ξ moves slower on the plateau than the
# network's, so the curves' shapes before the transition differ even where the steps agree.
