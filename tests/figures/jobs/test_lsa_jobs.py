"""The linear-attention computations (phenom.figures.jobs.lsa): hand-derived optima, and the figures'
claims re-measured on seeds the figures do not use."""

from pathlib import Path

import numpy as np
import pytest

from phenom.figures.jobs import lsa
from phenom.figures.settings import (
    LsaDepthSetting,
    LsaLandscapeSetting,
    LsaLearningCurvesSetting,
    LsaPreconditionerSetting,
)


def test_landscape_marks_the_hand_derived_optimum(tmp_path):
    # d = 2, N = 4, Σ = diag(2, 1/2), Ω = I: Γ* = diag(1/((5/4)·2 + 5/8), 1/((5/4)/2 + 5/8))
    # = diag(0.32, 0.8), and R* = tr Σ − Σ_i λ_i² γ_i = 2.5 − 4·0.32 − 0.25·0.8 = 1.02.
    data = lsa.lsa_landscape(LsaLandscapeSetting(grid=11), tmp_path)
    star = data["points"]["Γ* (optimal)"]
    assert (star["gamma1"], star["gamma2"]) == pytest.approx((0.32, 0.8), rel=1e-12)
    assert data["task"]["optimal_risk"] == pytest.approx(1.02, rel=1e-12)
    assert data["risk"].shape == (11, 11) and data["risk"].min() >= 1.02 - 1e-12
    # Γ = I: M = (5/4)Σ² + (5/2)/4·Σ, R(I) = tr(Σ²M) − 2tr(Σ²) + tr Σ
    # = (5/4)(16 + 1/16) + (5/8)(8 + 1/8) − 2(4 + 1/4) + 5/2 = 6.8125.
    assert data["points"]["Γ = I (plain GD step)"]["risk"] == pytest.approx(6.8125, rel=1e-12)


def test_landscape_in_five_dimensions(tmp_path):
    setting = LsaLandscapeSetting(d=5, N=20, grid=7)
    data = lsa.lsa_landscape(setting, tmp_path)
    assert data["points"]["Γ* (optimal)"]["risk"] == pytest.approx(
        lsa.regression_task(setting).optimal_risk(), rel=1e-12
    )


def test_depth_baselines(tmp_path):
    depth = lsa.lsa_depth(LsaDepthSetting(layers=(1, 2), seeds=(0,), steps=50), tmp_path)["depth"]
    task = lsa.regression_task(LsaDepthSetting())
    # One PGD step with Γ* and η = 1 *is* the optimal one-layer predictor: the tuned η is ≈ 1
    # and its held-out risk is R* up to Monte Carlo error (≈ 1.5% for 20 000 sequences here).
    assert depth["pgd_eta"][0] == pytest.approx(1.0, abs=0.05)
    assert depth["pgd_risk"][0] == pytest.approx(task.optimal_risk(), rel=0.05)
    assert depth["gd_risk"][0] > depth["pgd_risk"][0] and depth["gd_risk"][1] < depth["gd_risk"][0]
    assert np.shape(depth["lsa_risk"]) == (2, 1)
    assert list(depth["lsa_median"]) == [row[0] for row in depth["lsa_risk"]]


@pytest.mark.parametrize("seed", [1, 2])
def test_network_follows_the_factored_flow_at_the_figures_setting(seed):
    # The README quotes the figure's seed 0 (largest gap of R(Γ_eff) to the flow 2.1%, 1.4% at
    # the end); seeds 0–3 gave 2.1–2.9% and 1.3–1.6%. Other seeds must stay below 3.5% and 2%.
    numbers = lsa.lsa_learning_curves(LsaLearningCurvesSetting(seed=seed), Path("."))["summary"]
    assert numbers["max_relative_gap_risk_of_gamma_eff"] < 0.035
    assert numbers["final_relative_gap_risk_of_gamma_eff"] < 0.02


@pytest.mark.parametrize("seed", [1, 2])
def test_learned_preconditioner_at_the_figures_setting(seed):
    # The README quotes 1.0% (seed 0); seeds 0–3 gave 0.7–1.2%. Other seeds must stay below 1.5%.
    numbers = lsa.lsa_preconditioner(LsaPreconditionerSetting(seed=seed), Path("."))["summary"]
    assert numbers["relative_frobenius_error"] < 0.015
    assert numbers["risk_of_learned"] < 1.001 * numbers["optimal_risk"]
