"""
One flow, many flows, and the phase diagram
===========================================

The cliff of the β, α, ξ flow comes later the closer L is to N, and never when L = N (the
origin is then a fixed point: nothing rewards preferring the labels in context). This tutorial
runs one flow, then a batch of flows over L in one call, then the cliff over a grid of (N, L),
and sets it beside the closed-form transition time t* derived from the flow's early solution.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from phenom import InductionHeadModel, induction_flow
from phenom.induction import asymptotic_transition_time, flow_transition_times

# %%
# One flow, and many at once
# --------------------------
# :func:`~phenom.induction.model.induction_flow` takes arrays of N, L (and starts) and returns one
# :class:`~phenom.flow.Trajectory` per member; the probability of the correct label
# (``p_correct``) jumps at the cliff.
one = InductionHeadModel(8, 32).flow(t_max=300.0)
print("one flow:", one)

Ls = np.array([9, 12, 16, 32, 64])
t_grid = np.linspace(0.0, 300.0, 601)
flows = induction_flow(N=8, L=Ls, t_max=300.0, t_eval=t_grid)
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
for L, traj in zip(Ls, flows, strict=True):
    model = InductionHeadModel(8, int(L))
    p = model.p_correct(*traj.theta.T)
    ax.plot(traj.t, p, label=f"L = {L}")
ax.axhline(1 / 8, color="0.6", ls=":", label="1/N")
ax.set(xlabel="flow time t", ylabel="P(correct label)", title="Flows from θ = 0 at N = 8: smaller L − N, later jump")
ax.legend()
plt.show()

# %%
# The phase diagram
# -----------------
# :func:`~phenom.induction.transition.flow_transition_times` integrates one compiled flow per
# (N, L) and returns each cliff time; at L = N there is none (NaN). The formula
# :func:`~phenom.induction.transition.asymptotic_transition_time` needs no integration.
N_values = np.arange(2, 17)
ratios = np.linspace(1.0, 8.0, 36)
N_grid, ratio_grid = np.meshgrid(N_values, ratios)
L_grid = np.maximum(N_grid, np.round(N_grid * ratio_grid).astype(int))
start = time.perf_counter()
numeric = flow_transition_times(N_grid, L_grid, rtol=1e-8)
print(
    f"{numeric.size} flows in {time.perf_counter() - start:.2f} s; "
    f"{int(np.isnan(numeric).sum())} without a cliff (L = N)"
)
above = L_grid > N_grid
formula = np.full(numeric.shape, np.nan)
formula[above] = asymptotic_transition_time(N_grid[above], L_grid[above])
error = formula / numeric - 1
print(f"formula against the numeric cliff: median {np.nanmedian(error):+.1%}, largest {np.nanmax(np.abs(error)):.1%}")

fig, (ax_n, ax_e) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
mesh = ax_n.pcolormesh(N_values, ratios, np.log10(numeric), shading="nearest", cmap="magma")
fig.colorbar(mesh, ax=ax_n, label="log10 cliff time t")
ax_n.set(xlabel="N (pairs in context)", ylabel="L / N", title="Cliff time of the flow from θ = 0")
mesh = ax_e.pcolormesh(N_values, ratios, 100 * error, shading="nearest", cmap="coolwarm", vmin=-15, vmax=15)
fig.colorbar(mesh, ax=ax_e, label="formula − numeric (% of numeric)")
ax_e.set(xlabel="N (pairs in context)", ylabel="L / N", title="Closed-form t* against the numeric cliff")
plt.show()

# %%
# The formula is slightly late everywhere, most where L − N is small (the α grown on the
# plateau speeds ξ up there, which the leading order leaves out). ``phenom phase`` draws the
# full figure, up to N = 32 and L = 16N, with the discrete-GD transition beside it.
