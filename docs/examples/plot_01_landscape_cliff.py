"""
The loss landscape and its cliff
================================

The β, α, ξ model of an induction head (Reddy, ICLR 2024) has a loss that phenom derives with
sympy from three softmaxes. Trained by gradient flow from θ = 0, the loss sits on a plateau near
log L, then falls off a cliff. This tutorial integrates that flow, finds the cliff (the time of
the largest \\|∇loss\\|), and draws the loss on the (α, β) slice through it, with the flow's path.
"""

import matplotlib.pyplot as plt
import numpy as np

from phenom import InductionHeadModel, loss_slice

# %%
# The model and its flow
# ----------------------
# N = 8 item–label pairs in the context, L = 32 labels. ``flow`` integrates
# dθ/dt = −lr ∇loss(θ) with compiled kernels; the result is a
# :class:`~phenom.flow.Trajectory`.
model = InductionHeadModel(N=8, L=32)
traj = model.flow(theta0=(0.0, 0.0, 0.0), t_max=300.0, lr=1.0)
t_cliff = traj.cliff()
beta_c, alpha_c, xi_c = traj(t_cliff)
print(traj)
print(f"cliff at t = {t_cliff:.1f}: beta = {beta_c:.2f}, alpha = {alpha_c:.2f}, xi = {xi_c:.2f}")
print("time each parameter reaches 1:", {k: round(float(v), 1) for k, v in traj.crossing_times(1.0).items()})

# %%
# The loss over time, and the slice through the cliff
# ---------------------------------------------------
# :func:`~phenom.induction.landscape.loss_slice` evaluates the loss on a grid over two of the
# parameters with the third held fixed: here α and β at the cliff's ξ.
grid = loss_slice(model, x=("alpha", 0.0, 8.0), y=("beta", 0.0, 6.0), fixed=float(xi_c), n=121)

fig, (ax_t, ax_s) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
ax_t.plot(traj.t, traj.loss, color="k")
ax_t.axvline(t_cliff, color="tab:red", ls="--", label=f"cliff, t = {t_cliff:.1f}")
ax_t.axhline(np.log(32), color="0.6", ls=":", label="log L")
ax_t.set(xlabel="flow time t", ylabel="loss", title="Gradient flow from θ = 0 (N = 8, L = 32)")
ax_t.legend()

mesh = ax_s.pcolormesh(grid.x, grid.y, grid.loss, shading="auto", cmap="viridis")
fig.colorbar(mesh, ax=ax_s, label="loss")
ax_s.plot(traj.theta[:, 1], traj.theta[:, 0], color="w", lw=1.5, label="flow (projected)")
ax_s.plot(alpha_c, beta_c, marker="*", color="tab:red", ms=14, ls="none", label="cliff")
ax_s.set(xlim=(0, 8), ylim=(0, 6), xlabel="α (layer-2 match)", ylabel="β (layer-1 previous token)")
ax_s.set_title(f"Loss over (α, β) at the cliff's ξ = {xi_c:.2f}")
ax_s.legend(loc="upper right")
plt.show()

# %%
# The plateau is the time ξ, α and β take to grow from zero one after the other (ξ ∝ t,
# α ∝ t², β ∝ t⁴ near the origin); the cliff is where α and β reinforce each other through
# layer 1's attention. The same figure at full size is ``phenom induction_landscape``.
