"""
Linear attention as preconditioned gradient descent
===================================================

On in-context linear regression (x_i ~ N(0, Σ), w ~ N(0, Ω), y_i = wᵀx_i), one layer of
linear self-attention reads out one step of *preconditioned* gradient descent on the context's
least-squares loss: ŷ = x_qᵀ Γ h with h = (1/N) Σ y_i x_i. :class:`~phenom.linear.model.LinearICL`
has the risk R(Γ) in closed form, its optimum Γ* = ΩΣM⁻¹ and the flows of Γ. Here we compare a
plain GD step with the optimal preconditioner, then train a linear-attention network and read
its effective preconditioner.
"""

import matplotlib.pyplot as plt
import numpy as np

from phenom import LinearICL
from phenom.nets import LinearAttention, train

# %%
# The closed form
# ---------------
# For d = 2, N = 4, Σ = Ω = I and no noise, Γ* = ((1 + 1/N)Σ + tr(Σ)/N · I)⁻¹ = (4/7) I with risk
# 6/7, against 3/2 for a plain GD step (Γ = I).
small = LinearICL(d=2, N=4)
print("Gamma* =", small.optimal_preconditioner().round(4).tolist(), " R* =", round(small.optimal_risk(), 4))
mc_mean, mc_se = small.risk_mc(np.eye(2), n_tasks=50_000, seed=0)
print(f"R(I) = {small.risk(np.eye(2)):.4f}; Monte Carlo over 50 000 tasks: {mc_mean:.3f} ± {mc_se:.3f}")

# %%
# A task with a rotated, anisotropic Σ
# -------------------------------------
# :meth:`~phenom.linear.model.LinearICL.reference` is the figures' task: Σ with eigenvalues
# 2, 1.4, 1, 0.6, 0.3 in a random basis, so the preconditioner must learn both the spectrum and
# the basis. The best plain GD step (Γ = ηI, η tuned on the closed-form risk, which takes arrays
# of Γ) is far from Γ*.
task = LinearICL.reference(d=5, N=20)
gamma_star, risk_star = task.optimal_preconditioner(), task.optimal_risk()
etas = np.linspace(0.01, 2.0, 400)
gd_risks = task.risk(etas[:, None, None] * np.eye(5))
eta, gd_risk = etas[np.argmin(gd_risks)], gd_risks.min()
print(f"optimal risk {risk_star:.4f}; best GD step (eta = {eta:.3f}) {gd_risk:.4f}")

# %%
# Train a one-layer linear-attention network with Adam, on fresh tasks every step. Its
# effective preconditioner is Γ_eff = P[d,d]·Q[:d,:d]ᵀ + Q[d,:d]ᵀP[d,:d] (the product of the value
# and key–query blocks); ``hist.risk_gamma`` is the exact risk of Γ_eff at each evaluation.
net = LinearAttention.init(d=5, N=20, layers=1, seed=0)
hist = train(net, task, steps=3000, lr=0.01, optimizer="adam", batch_size=512, seed=0, progress=False)
gamma = net.effective_preconditioner()
gap = np.linalg.norm(gamma - gamma_star) / np.linalg.norm(gamma_star)
print(hist)
print(
    f"learned preconditioner within {gap:.1%} (relative Frobenius) of Gamma*; "
    f"its risk {task.risk(gamma):.4f} against R* = {risk_star:.4f}"
)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained")
axes[0].plot(hist.step, hist.risk_gamma, color="k", label="network: R(Γ_eff)")
axes[0].axhline(risk_star, color="tab:blue", ls="--", label="R* (optimal Γ)")
axes[0].axhline(gd_risk, color="tab:red", ls=":", label="best GD step")
axes[0].set(xlabel="Adam step", ylabel="risk", yscale="log", title="d = 5, N = 20: risk during training")
axes[0].set_yticks([1.2, 1.5, 2, 3, 5], labels=["1.2", "1.5", "2", "3", "5"], minor=False)
axes[0].minorticks_off()
axes[0].legend(fontsize="small")
limit = np.abs(gamma_star).max()
for ax, matrix, title in ((axes[1], gamma_star, "optimal Γ* (closed form)"), (axes[2], gamma, "learned Γ_eff")):
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set(title=title, xlabel="column", ylabel="row", xticks=range(5), yticks=range(5))
fig.colorbar(image, ax=axes[1:], label="entry")
plt.show()

# %%
# ``phenom lsa`` makes the five linear-attention figures: the risk landscape, the flow against
# SGD, the learned preconditioner and depth (K layers against K steps of GD and PGD).
