"""The network-side figures' inputs (induction_heads, data_dependence, growth): every value a
setting accepts can be computed, so the command line refuses the rest before any work (exit 2);
and a diverging data-dependence run stops with Diverged, without a floating-point warning."""

import warnings

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from phenom.figures import settings as S
from phenom.figures.jobs.network import data_point
from phenom.figures.settings.compare import MIN_GROWTH_LR
from phenom.nets.training import Diverged


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (S.GrowthSetting, dict(lr=5e-324), r"^lr must be a number >= 1e-11"),
        (S.GrowthSetting, dict(lr=1e-12), r"^lr must be a number >= 1e-11"),
        (S.GrowthSetting, dict(min_D=5000), r"min_D, L\) = 5000: D must be at most 4096"),
        (S.GrowthSetting, dict(eps=1e200), r"eps must be a number from 0 to 1e\+30"),
        (S.GrowthSetting, dict(samples=10**9), r"^samples must be at most 100000"),
        (S.GrowthSetting, dict(probe_size=10**8), r"^probe_size must be at most 15764 \(one batch at N = 16, D = 64"),
        (S.GrowthSetting, dict(weight_decay=3), r"^weight_decay must be a number from 0 to 1"),
        (S.GrowthSetting, dict(seed=2**62), r"^seed must be at most 4611686018427387903"),
        (S.InductionHeadsSetting, dict(eps=1e308), r"^eps must be a number from 0 to 1e\+30"),
        (S.InductionHeadsSetting, dict(score_size=10**7), r"^score_size must be at most 30840"),
        (S.InductionHeadsSetting, dict(seeds=(2**62,)), r"^seeds must be at most 4611686018427367904"),
        (S.InductionHeadsSetting, dict(weight_decay=1.5), r"^weight_decay must be a number from 0 to 1"),
        (S.DataDependenceSetting, dict(eps=1e308), r"^eps must be a number from 0 to 1e\+30"),
        (S.DataDependenceSetting, dict(eps_values=(0.0, 1e31)), r"^eps_values: eps must be a number from 0 to 1e\+30"),
        (S.DataDependenceSetting, dict(eval_size=10**6), r"^eval_size must be at most 30840"),
        (S.DataDependenceSetting, dict(batch_size=10**6), r"^batch_size must be at most 30840"),
        (S.DataDependenceSetting, dict(seeds=(2**62 - 1,)), r"^seeds must be at most 4611686018427367904"),
        (S.DataDependenceSetting, dict(weight_decay=2), r"^weight_decay must be a number from 0 to 1"),
        (S.DataDependenceSetting, dict(L=32, D=4096, K_values=(32, 2**20)), r"^K_values: K × D must be at most 2\^27"),
    ],
)
def test_values_the_computation_cannot_take_are_refused_by_the_setting(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_batch_bounds_by_hand():
    # 2^26 token numbers per batch; a sequence holds (2N + 1)(65 + D) of them.
    assert 2**26 // (17 * (65 + 63)) == 30840  # N = 8, D = 63: the heads' and data's bound
    # Growth: the run with the longest sequences binds, (N, D) = (16, max(63, 64)) of the full
    # setting and (4, max(16, 16)) of the quick one.
    assert 2**26 // (33 * (65 + 64)) == 15764
    assert 2**26 // (9 * (65 + 16)) == 92056
    S.InductionHeadsSetting(score_size=30840)  # at the bound: accepted
    S.GrowthSetting().quick().replace(probe_size=92056)
    with pytest.raises(ValueError, match=r"^probe_size must be at most 92056 \(one batch at N = 4, D = 16"):
        S.GrowthSetting().quick().replace(probe_size=92057)


def test_growth_lr_bound_keeps_every_predicted_step_a_count():
    # The largest predicted step is the last cliff searched (t = 1e6) over the smaller constant
    # c · lr: at the bound it must stay below 2^62, and at lr = 5e-324 c · lr would be 0.
    from phenom.induction.prediction import _T_MAX, TIME_CONSTANTS

    c = min(entry["c"] for entry in TIME_CONSTANTS.values())
    assert _T_MAX / (c * MIN_GROWTH_LR) < 2**62
    assert c * 5e-324 == 0.0
    assert S.GrowthSetting(lr=MIN_GROWTH_LR).lr == MIN_GROWTH_LR


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 1e-11, 1e30, 1e31, 2**62 - 20_000, 2**62]),
)
FIELDS = {
    S.InductionHeadsSetting: ("lr", "eps", "weight_decay", "score_size", "seed"),
    S.DataDependenceSetting: ("lr", "eps", "weight_decay", "eval_size", "batch_size"),
    S.GrowthSetting: ("lr", "eps", "weight_decay", "probe_size", "samples", "seed"),
}


@settings(max_examples=examples(300), deadline=None, derandomize=True)
@given(cls=st.sampled_from(list(FIELDS)), index=st.integers(0, 5), value=NUMBERS)
def test_fuzz_network_settings_accept_or_name_the_field(cls, index, value):
    """One field at a time from the quick setting: accepted as given, or one ValueError naming it."""
    name = FIELDS[cls][index % len(FIELDS[cls])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            setting = cls().quick().replace(**{name: value})
        except ValueError as err:
            assert "\n" not in str(err) and name in str(err), (name, value, str(err))
            return
    assert float(getattr(setting, name)) == float(value)  # as given (a float field holds it as a float)


def _data_config(lr: float) -> dict:
    return dict(
        N=2, L=4, D=8, K=8, B=1, eps=0.1, zipf=0.0, seed=0, steps=40, lr=lr, weight_decay=0.0,
        batch_size=16, eval_size=32, curve_every=10, eval_B=1,
    )  # fmt: skip


def test_diverging_data_run_stops_with_diverged_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(Diverged, match="with lr 50"):
            data_point(_data_config(50.0))
        result = data_point(_data_config(0.1))  # a learning rate that trains: scored at 0, 10, … 40
    assert result["curve"]["step"] == [0, 10, 20, 30, 40]
    assert all(0 <= result[k] <= 1 for k in ("icl_acc", "ic2_acc", "iwl_acc"))
