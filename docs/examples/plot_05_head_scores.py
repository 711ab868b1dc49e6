"""
Olsson's induction-head scores during training
==============================================

Olsson et al. (2022) identify induction heads by behaviour: a *previous-token* head in layer 1,
and a layer-2 head that attends to the token after the earlier occurrence of the current token
(*prefix matching*) and raises that token's logit (*copying*). Every History of the attention
network records the three scores at each evaluation; :func:`~phenom.nets.heads.head_scores`
scores a network once, with the values uniform attention would give.
"""

import matplotlib.pyplot as plt
import numpy as np

from phenom.nets import AttentionNetwork, CopyingTask, head_scores, train

task = CopyingTask(N=4, L=16, D=63, eps=0.1)
net = AttentionNetwork.init(task, classifier="linear", seed=1)
before = head_scores(net, task)
hist = train(net, task, steps=700, lr=0.5, batch_size=128, seed=1, eval_every=10, eval_size=1024, progress=False)
after = head_scores(net, task)
for name in ("previous_token", "prefix_matching", "prefix_matching_repeated", "copying"):
    print(f"{name:25s} untrained {before[name]:6.3f}   trained {after[name]:6.3f}")
print(
    f"chance: previous token {after['previous_token_chance']:.3f}, "
    f"prefix matching {after['prefix_matching_chance']:.3f}"
)

# %%
# The scores along training, and when each rises
# ----------------------------------------------
# Each curve is scaled from its value at step 0 (0) to its final value (1), so the three can be
# compared with ICL accuracy; the dots mark where each passes halfway.


def halfway(values: np.ndarray) -> int:
    """First evaluated step where a curve is halfway from its first to its last value."""
    scaled = (values - values[0]) / (values[-1] - values[0])
    return int(hist.step[np.argmax(scaled >= 0.5)])


curves = {
    "ICL accuracy": (hist.icl_acc, "k"),
    "previous token (layer 1)": (hist.previous_token, "tab:purple"),
    "prefix matching (layer 2)": (hist.prefix_matching, "tab:orange"),
    "copying (layer-2 OV and read-out)": (hist.copying, "tab:green"),
}
for label, (values, _) in curves.items():
    print(f"{label:35s} halfway at step {halfway(values)}")
fig, (ax_raw, ax_scaled) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for label, (values, color) in curves.items():
    ax_raw.plot(hist.step, values, color=color, label=label)
    scaled = (values - values[0]) / (values[-1] - values[0])
    ax_scaled.plot(hist.step, scaled, color=color, label=f"{label}: halfway at {halfway(values)}")
    ax_scaled.plot(halfway(values), 0.5, "o", color=color)
ax_raw.set(xlabel="SGD step", ylabel="score", title="Head scores, N = 4, L = 16 (seed 1)")
ax_raw.legend(fontsize="small")
ax_scaled.set(
    xlabel="SGD step",
    ylabel="scaled score (0 = start, 1 = end)",
    title="Copying first, then both heads with the transition",
)
ax_scaled.legend(fontsize="small", loc="lower right")
plt.show()

# %%
# The copying map is in place long before the transition: it is the read-out's alignment ξ,
# the first thing the network learns. The previous-token and prefix-matching heads form
# together with the jump in ICL accuracy: Olsson et al.'s phase change. ``phenom
# induction_heads`` makes the full figure (N = 8, L = 32, three seeds).
