"""Settings (phenom.figures.settings): defaults in one place, policy, validation, quick variants,
one name per figure, and digests that key saved results."""

import dataclasses
import hashlib
import json
import subprocess
import sys

import pytest

from phenom.figures import settings as S
from phenom.figures.catalog import CATALOG
from phenom.figures.jobs.compare import scaling_configs
from phenom.figures.registry import FIGURES


def test_every_figure_has_a_setting_whose_quick_variant_is_valid():
    for figure in FIGURES.values():
        full = figure.setting()
        quick = full.quick()
        assert type(quick) is type(full)
        assert set(dataclasses.asdict(quick)) == set(dataclasses.asdict(full))


def test_mlp_read_out_trains_with_adam_from_python_too():
    s = S.NetworkTrainingSetting(classifier="mlp")
    assert (s.optimizer, s.lr) == ("adam", S.ADAM_LR)
    assert s.run_options()["weight_decay"] == 0.0  # no SGD-style decay under Adam
    linear = S.NetworkTrainingSetting()
    assert (linear.optimizer, linear.lr, linear.run_options()["weight_decay"]) == ("sgd", S.SGD_LR, S.WEIGHT_DECAY)
    assert (
        S.NetworkTrainingSetting(classifier="mlp", optimizer="sgd", lr=0.05).optimizer == "sgd"
    )  # asked for explicitly


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (S.InductionFlowSetting, dict(N=0), "^N must be an integer >= 1, got 0"),
        (S.InductionFlowSetting, dict(N=16), "^compare_L must be an integer >= N = 16, got 9"),
        (S.InductionFlowSetting, dict(theta0=(1.0, 2.0)), r"^theta0 must have shape \(\.\.\., 3\)"),
        (S.InductionLandscapeSetting, dict(grid=5000), "^grid must be an integer from 2 to 2001, got 5000"),
        (S.NetworkTrainingSetting, dict(classifier="deep"), "^classifier must be 'linear' or 'mlp'"),
        (S.NetworkTrainingSetting, dict(optimizer="lbfgs"), "^optimizer must be 'sgd' or 'adam'"),
        (S.NetworkTrainingSetting, dict(task="classify", K=33), "K must be"),
        (S.NetworkTrainingSetting, dict(D=16), "^D must be an integer >= L = 32"),
        (S.CompareSetting, dict(seeds=()), "^seeds must name at least one seed"),
        (S.ScalingSetting, dict(steps=(1, 2)), r"^steps must hold one value per N \(4\), got 2"),
        (S.ScalingSetting, dict(reference=(8, 8)), "^reference must be one of the sweep's"),
        (S.ScalingSetting, dict(ratios=(1.0,)), "^ratios must be numbers > 1"),
        (S.LsaDepthSetting, dict(layers=(0,)), "^layers must be an integer >= 1, got 0"),
        (S.LinearSetting, dict(noise=-1), "^noise must be a finite number >= 0, got -1"),
        (S.NetworkTrainingSetting, dict(task="classify", N=3, L=4, K=4, B=1), "K must be"),  # the L = N controls' task
        (S.ScalingSetting, dict(Ns=(2, 40), steps=(1, 1), eval_every=(1, 1)), "^Ns must be integers from 1 to 32"),
        (S.ScalingSetting, dict(seeds=(0, 0)), r"^seeds must be distinct values, got \(0, 0\)"),
        (S.CompareSetting, dict(seeds=(1, 1)), "^seeds must be distinct"),
        (S.LsaLearningCurvesSetting, dict(t_max=0.001), "^t_max must be >= lr = 0.005"),
        (S.NetworkTrainingSetting, dict(task="classify", p_B=2), r"^p_B must be a probability in \[0, 1\]"),
    ],
)
def test_bad_settings_name_the_field(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_equal_values_of_another_type_give_the_same_digest():
    assert S.NetworkTrainingSetting(zipf=0, p_B=1, p_C=0, K=256.0).digest() == S.NetworkTrainingSetting().digest()


def test_settings_are_frozen_normalised_and_hashed():
    s = S.InductionFlowSetting(N=8.0, theta0=[0, 0, 1], compare_L=[9])
    assert (s.N, s.theta0, s.compare_L) == (8, (0.0, 0.0, 1.0), (9,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.N = 4
    assert s.digest() == S.InductionFlowSetting(N=8, theta0=(0.0, 0.0, 1.0), compare_L=(9,)).digest()
    assert s.digest() != s.replace(lr=2.0).digest()
    assert s.to_dict()["setting"] == "InductionFlowSetting"


def test_scaling_pairs_and_configs():
    s = S.ScalingSetting()
    assert s.pairs()[:6] == [(2, 2), (2, 3), (2, 4), (2, 6), (2, 8), (2, 16)]
    assert s.pairs()[-6:] == [(16, 16), (16, 20), (16, 32), (16, 48), (16, 64), (16, 128)]
    # Per N: 5 L > N with seeds 0–2 (0–1 at N = 16), and one L = N control (seed 0).
    assert len(scaling_configs(s)) == 3 * (5 * 3 + 1) + (5 * 2 + 1)
    assert [c["seed"] for c in scaling_configs(s) if c["N"] == 16] == [0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    assert len(scaling_configs(s.replace(seeds=(4,)))) == 4 * (5 + 1)  # the counts cap, they do not require
    first = scaling_configs(s)[0]
    assert first == dict(
        N=2,
        L=2,
        D=63,
        eps=0.1,
        seed=0,
        lr=0.5,
        steps=2000,
        eval_every=25,
        eval_size=1024,
        batch_size=128,
        weight_decay=1e-6,
    )


def test_each_figure_is_found_by_its_one_name():
    for name, figure in FIGURES.items():
        family = CATALOG[name].family
        camel = "".join(w.capitalize() for w in name.split("_"))
        assert figure.setting.__name__ == f"{camel}Setting"
        assert figure.setting.__module__ == f"phenom.figures.settings.{family}"
        assert (figure.compute.__module__, figure.compute.__name__) == (f"phenom.figures.jobs.{family}", name)
        assert (figure.draw.__module__, figure.draw.__name__) == (f"phenom.figures.plots.{family}", name)
    with pytest.raises(ValueError, match="^figure must name a setting class"):
        S.setting_class("nope")


def test_the_digest_is_the_sha256_of_the_class_name_and_values():
    # By hand: the JSON of {"setting": class name, every field}, keys sorted, hashed.
    s = S.LsaPreconditionerSetting()
    fields = {
        "d": 5,
        "N": 20,
        "noise": 0.0,
        "basis_seed": 3,
        "steps": 3000,
        "lr": 0.01,
        "batch_size": 512,
        "seed": 0,
        "init_scale": 0.1,
    }
    text = json.dumps({"setting": "LsaPreconditionerSetting", **fields}, sort_keys=True)
    assert s.digest() == hashlib.sha256(text.encode()).hexdigest()[:12]
    assert S.ChainSetting().digest() == hashlib.sha256(b'{"setting": "ChainSetting"}').hexdigest()[:12]
    assert S.ChainSetting().digest() != S.LsaSummarySetting().digest()
    assert s.replace(seed=1).digest() != s.digest()


def test_settings_import_numpy_at_most():
    code = (
        "import sys, phenom.figures.settings; "
        "print(sorted(m for m in ('sympy', 'scipy', 'numba', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- the phase figure's setting: refused before computing what would fail or run for hours -----


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(t_max=5e-324), r"^t_max must be >= 6952.32, twice the latest transition time"),
        (dict(scale_max=1e308), r"^scale_max must be a number > 0 and <= 1e\+06"),
        (dict(lr_max=1e308), r"^lr_max must be > lr_min = 0.03 and <= 1000"),
        (dict(lr_min=1e-7), r"^lr_min must be >= 0.000\d+: gradient descent runs gd_budget × t\* = 499.3"),
        (dict(gd_budget=9007199254740993), "^gd_budget must be a number > 1 and <= 1000"),
        (dict(ratio_max=1025), "^ratio_max must be an integer from 2 to 1024"),
        (dict(scale_points=1001), "^scale_points must be an integer from 2 to 1000"),
        (dict(reference=(33, 40)), r"^reference must be \(N, L\) with 2 <= N <= 32 and L > N"),
        (dict(lr_min=0.001, lr_max=0.002, scale_points=1000, lr_points=1000), "^scale_points × lr_points must be"),
    ],
)
def test_phase_settings_that_would_fail_or_run_for_hours_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        S.PhaseSetting(**kwargs)


def test_phase_setting_bounds_are_the_flows_and_gradient_descents():
    # The setting keeps copies (the command line imports no sympy); they must be the modules' own.
    from phenom.figures.settings.induction import PHASE_LIMITS, formula_time
    from phenom.induction.fastflow import THETA_MAX
    from phenom.induction.transition import GD_MAX_STEPS, GD_MAX_WORK, asymptotic_transition_time

    assert PHASE_LIMITS["scale_max"] == THETA_MAX
    assert (PHASE_LIMITS["gd_steps"], PHASE_LIMITS["gd_work"]) == (GD_MAX_STEPS, GD_MAX_WORK)
    N, L = [2, 8, 32, 8], [3, 32, 33, 10**15]
    assert formula_time(N, L) == pytest.approx(asymptotic_transition_time(N, L), rel=1e-12)


def test_the_published_phase_setting_is_accepted_unchanged():
    # The published figure's digest (figures/phase.json) and its quick variant still pass.
    assert S.PhaseSetting().digest() == "6e0139c04edd"
    S.PhaseSetting().quick()


def test_an_accepted_phase_setting_holds_every_cliff_and_keeps_gradient_descent_in_its_budget():
    # The setting reads the formula; here the flows themselves: at the smallest accepted t_max
    # (twice the formula's latest t*, 265.6 at (8, 9)) every numeric cliff of the grid is found,
    # and at the smallest accepted lr_min gradient descent's longest run is within 10^6 steps.
    import numpy as np

    from phenom.induction.transition import GD_MAX_STEPS, flow_transition_times

    S.PhaseSetting(N_max=8, t_max=531.2)
    with pytest.raises(ValueError, match="^t_max must be >= 531.17"):
        S.PhaseSetting(N_max=8, t_max=531.1)
    N = np.concatenate([np.full(15 * n, n) for n in range(2, 9)])
    L = np.concatenate([np.arange(n + 1, 16 * n + 1) for n in range(2, 9)])
    numeric = flow_transition_times(N, L, t_max=531.2)
    assert np.all(np.isfinite(numeric)) and numeric.max() < 531.2 / 2

    S.PhaseSetting(lr_min=5e-4)
    with pytest.raises(ValueError, match="^lr_min must be >= 0.000499"):
        S.PhaseSetting(lr_min=4.9e-4)
    assert 4.0 * float(flow_transition_times(8, 32, t_max=1e4)) / 5e-4 <= GD_MAX_STEPS
