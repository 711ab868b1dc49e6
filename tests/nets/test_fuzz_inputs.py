"""Every input of the sequence tasks, their samplers and the head scores gets a result or one
ValueError naming the argument: never another exception, a warning, a NaN or inf for finite input,
or an allocation beyond the stated bounds. Property-based (hypothesis), with a regression test for
each case fuzzing found."""

import tracemalloc
import warnings

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from phenom.nets import AttentionNetwork
from phenom.nets.heads import head_scores
from phenom.nets.tasks import MAX_EPS, ClassificationTask, CopyingTask, batch_limit

JUNK = [None, "3", True, 2.5, float("nan"), float("inf"), -1, 2**70, 1 + 2j, [2], np.float32(3.0)]
SMALL = st.one_of(st.integers(min_value=-2, max_value=40), st.sampled_from(JUNK))


def outcome(call, names: tuple[str, ...]):
    """``call()`` with warnings as errors: its result, or None after a one-line ValueError whose
    message starts with one of ``names`` (the argument it is about)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return call()
        except ValueError as err:
            text = str(err)
            assert "\n" not in text and text.startswith(names), text
            return None


def finite_batch(batch, n: int, N: int, D: int, L: int, dtype) -> None:
    """A batch of n sequences of 2N + 1 tokens of width D, finite, in ``dtype``, answers in 0..L−1."""
    assert batch.content.shape == (n, 2 * N + 1, D) and batch.content.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(batch.content))
    assert np.all((batch.answer >= 0) & (batch.answer < L))


# -- construction ---------------------------------------------------------------------------------


@settings(max_examples=examples(300), deadline=None, derandomize=True)
@given(N=SMALL, L=SMALL, D=SMALL, seed=SMALL)
def test_fuzz_copying_task_construction(N, L, D, seed):
    task = outcome(lambda: CopyingTask(N=N, L=L, D=D, seed=seed), ("N ", "L ", "D ", "seed "))
    plain = all(isinstance(v, int) and not isinstance(v, bool) for v in (N, L, D, seed))
    # The documented range, written out here: 1 <= N <= L <= D <= 4096, 2N + 1 <= 65 slots, seed >= 0.
    in_range = plain and 1 <= N <= L <= D <= 4096 and 2 * N + 1 <= 65 and seed >= 0
    if in_range:
        assert task is not None, (N, L, D, seed)
    if (
        task is not None
    ):  # accepted only as the integers given; its label vectors are N(0, I/D) from the seed's task stream
        assert (task.N, task.L, task.D, task.seed) == (int(N), int(L), int(D), int(seed))
        drawn = np.random.default_rng([4, int(seed)]).standard_normal((int(L), int(D))) / np.sqrt(int(D))
        np.testing.assert_array_equal(task.label_vectors, drawn)


@settings(max_examples=examples(300), deadline=None, derandomize=True)
@given(K=SMALL, B=SMALL, seed=SMALL, a=st.one_of(st.floats(), st.sampled_from(JUNK)))
def test_fuzz_classification_task_construction(K, B, seed, a):
    call = lambda: ClassificationTask(N=4, L=4, D=8, K=K, B=B, a=a, seed=seed)  # noqa: E731
    task = outcome(call, ("K ", "B ", "a ", "seed "))
    if task is not None:  # K a multiple of L = 4, B dividing N = 4 (or 0), class frequencies summing to 1
        assert task.K % 4 == 0 and task.B in (0, 1, 2, 4) and task.means.shape == (task.K, 8)
        assert np.all(np.isfinite(task.p)) and task.p.sum() == pytest.approx(1.0)


@settings(max_examples=examples(200), deadline=None, derandomize=True)
@given(
    eps=st.one_of(st.floats(min_value=0, max_value=MAX_EPS), st.floats(), st.sampled_from([MAX_EPS, 1e200, 1e308])),
    classify=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_fuzz_eps_gives_finite_samples_or_a_value_error(eps, classify, dtype):
    make = ClassificationTask if classify else CopyingTask
    task = outcome(lambda: make(N=2, L=4, D=8, eps=eps), ("eps ",))
    if task is None:
        assert not 0 <= eps <= MAX_EPS  # refused only outside the documented range
    else:
        batch = outcome(lambda: task.sample(16, np.random.default_rng(0), dtype), ())
        finite_batch(batch, 16, 2, 8, 4, dtype)


# -- sampling --------------------------------------------------------------------------------------

SAMPLE_ARGS = {
    "n": st.one_of(st.integers(min_value=-3, max_value=20), st.sampled_from([2.0, 2**70, *JUNK])),
    "dtype": st.sampled_from([np.float32, np.float64, "float32", np.int64, np.float16, bool, None, "x", 3]),
    "shift_labels": st.one_of(st.integers(min_value=-(2**80), max_value=2**80), st.sampled_from([0.5, 3.0, *JUNK])),
    "bursty": st.sampled_from([None, True, False, np.bool_(True), 1, "x"]),
    "novel": st.sampled_from([None, True, False, 0, "yes"]),
    "B": st.sampled_from([None, 1, 2, 4, 3, 0, -1, 2.0, "2", float("nan")]),
    "rng_kind": st.sampled_from(["generator", "generator", 0, None, "random_state"]),
}


def _rng(kind):
    if kind == "generator":
        return np.random.default_rng(5)
    return np.random.RandomState(5) if kind == "random_state" else kind


@settings(max_examples=examples(300), deadline=None, derandomize=True)
@given(**SAMPLE_ARGS)
def test_fuzz_classification_sample_arguments(n, dtype, shift_labels, bursty, novel, B, rng_kind):
    task = ClassificationTask(N=4, L=8, D=8, K=16, B=2)
    options = dict(bursty=bursty, novel=novel, shift_labels=shift_labels, B=B)
    names = ("n ", "rng ", "dtype ", "shift_labels ", "bursty ", "novel ", "B ")
    batch = outcome(lambda: task.sample(n, _rng(rng_kind), dtype, **options), names)
    if batch is not None:
        finite_batch(batch, int(n), 4, 8, 8, dtype)
        # Shifting the labels draws nothing: the same stream unshifted, each answer moved by the
        # shift (novel sequences then permute their labels at random: not compared).
        plain = task.sample(n, _rng(rng_kind), dtype, bursty=bursty, novel=novel, B=B)
        assert np.array_equal(batch.content[..., 0], plain.content[..., 0]) or not novel
        if not novel:
            assert np.array_equal(batch.answer, (plain.answer + int(shift_labels) % 8) % 8)


@settings(max_examples=examples(200), deadline=None, derandomize=True)
@given(n=SAMPLE_ARGS["n"], dtype=SAMPLE_ARGS["dtype"], rng_kind=SAMPLE_ARGS["rng_kind"])
def test_fuzz_copying_sample_arguments(n, dtype, rng_kind):
    task = CopyingTask(N=3, L=6, D=8)
    batch = outcome(lambda: task.sample(n, _rng(rng_kind), dtype), ("n ", "rng ", "dtype "))
    if batch is not None:
        finite_batch(batch, int(n), 3, 8, 6, dtype)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=-1), "^n must be an integer >= 0, got -1"),
        (dict(n=2.5), "^n must be an integer >= 0, got 2.5"),
        (dict(rng=0), "^rng must be a numpy Generator"),
        (dict(shift_labels=0.5), r"^shift_labels must be an integer \(taken mod L = 8\), got 0.5"),
        (dict(dtype=np.int64), "^dtype must be float32 or float64, got <class 'numpy.int64'>"),
        (dict(dtype=np.float16), "^dtype must be float32 or float64"),
        (dict(bursty="no"), "^bursty must be None, True or False, got 'no'"),
        (dict(B=3), "^B must divide N = 4 with N/B <= L = 8, got 3"),
    ],
)
def test_classification_sample_refuses_with_the_argument_named(kwargs, message):
    task = ClassificationTask(N=4, L=8, D=8, K=16)
    call = {"n": 4, "rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(ValueError, match=message):
        task.sample(**call)


def test_integral_n_and_huge_label_shifts_give_the_plain_result():
    task = ClassificationTask(N=4, L=8, D=8, K=16)
    plain = task.sample(5, np.random.default_rng(1), bursty=True)
    # 2.0 sequences are 2 sequences; 2**70 ≡ 0 (mod 8) since 8 divides 2**70.
    assert len(task.sample(2.0, np.random.default_rng(1))) == 2
    shifted = task.sample(5, np.random.default_rng(1), bursty=True, shift_labels=2**70)
    assert np.array_equal(shifted.answer, plain.answer) and np.array_equal(shifted.content, plain.content)
    # −1 ≡ 7: each answer one label down.
    down = task.sample(5, np.random.default_rng(1), bursty=True, shift_labels=-1)
    assert np.array_equal(down.answer, (plain.answer + 7) % 8)


def test_dtype_by_name_draws_the_same_numbers_as_by_type():
    task = CopyingTask(N=2, L=4, D=8)
    by_name = task.sample(7, np.random.default_rng(3), "float32")
    by_type = task.sample(7, np.random.default_rng(3), np.float32)
    assert np.array_equal(by_name.content, by_type.content) and by_name.content.dtype == np.float32


@pytest.mark.parametrize("seed", [float("inf"), float("nan"), None, -1, 2.5, "0"])
@pytest.mark.parametrize("make", [CopyingTask, ClassificationTask])
def test_task_seed_must_be_an_integer(make, seed):
    with pytest.raises(ValueError, match="^seed must be an integer"):
        make(N=2, L=4, D=8, seed=seed)


@pytest.mark.parametrize("make", [CopyingTask, ClassificationTask])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eps_at_its_bound_samples_finite_and_beyond_is_refused(make, dtype):
    batch = make(N=2, L=4, D=8, eps=MAX_EPS).sample(64, np.random.default_rng(2), dtype)
    finite_batch(batch, 64, 2, 8, 4, dtype)
    # At ε = 1e30 an item is its noise: (μ + ε η)/sqrt(1 + ε²) = η to float precision, so
    # E|x|² = 1 (η ~ N(0, I/D)); 64·2 items of 8 coordinates, well within 0.5 of 1.
    items = batch.content[:, 0:-1:2].astype(np.float64)
    assert abs(np.mean(np.sum(items**2, axis=-1)) - 1) < 0.5
    for eps in (1e200, np.nextafter(MAX_EPS, np.inf)):
        with pytest.raises(ValueError, match=r"^eps must be a number from 0 to 1e\+30"):
            make(N=2, L=4, D=8, eps=eps)


def test_class_means_beyond_their_bound_are_refused_before_allocating():
    # Inside both K <= 2^20 and D <= 4096, but K·D = 2^32 numbers: 2^32 · 12 bytes = 48 GiB.
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"^K × D must be at most 2\^27 .*K = 1048576, D = 4096: 48 GiB"):
            ClassificationTask(N=1, L=1, D=4096, K=2**20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20  # nothing near the means' size was allocated


def test_a_batch_beyond_its_bound_is_refused_with_its_size():
    # 2^26 token numbers over (2N + 1)(65 + D) = 17 · 128 per sequence at N = 8, D = 63: 30840.
    assert batch_limit(8, 63) == 30840
    task = CopyingTask(N=8, L=32, D=63)
    with pytest.raises(ValueError, match=r"^n must be an integer from 0 to 30840 .*got 30841: 0\.5 GiB"):
        task.sample(30841, np.random.default_rng(0))


# -- head scores -----------------------------------------------------------------------------------

TASK = CopyingTask(N=2, L=4, D=8)
NET = AttentionNetwork.init(TASK, seed=1)
OTHER_TASKS = [
    CopyingTask(N=2, L=5, D=8),  # another L
    CopyingTask(N=2, L=4, D=9),  # another D
    ClassificationTask(N=2, L=5, D=9, K=10),
]


@pytest.mark.parametrize(
    "net, task, message",
    [
        (NET, None, "^task must be a CopyingTask or a ClassificationTask"),
        (NET, "copy", "^task must be a CopyingTask or a ClassificationTask"),
        (AttentionNetwork, TASK, "^net must be an AttentionNetwork instance, got <class"),
        (None, TASK, "^net must be an AttentionNetwork instance, got None"),
        (NET, OTHER_TASKS[0], "^task has d_model = 73, L = 5; the network was built for d_model = 73, L = 4"),
        (NET, OTHER_TASKS[1], "^task has d_model = 74, L = 4; the network was built for d_model = 73, L = 4"),
    ],
)
def test_head_scores_name_the_mismatched_argument(net, task, message):
    with pytest.raises(ValueError, match=message):
        head_scores(net, task, n=4)


def test_head_scores_refuse_weights_that_overflow():
    huge = NET.astype(np.float32)
    huge.weights["Q1"] *= np.float32(1e25)  # finite, but Q1ᵀK1 (about 1e50) overflows float32
    huge.weights["K1"] *= np.float32(1e25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="^net's weights are too large: its attention overflows float32"):
            head_scores(huge, TASK, n=4)
    broken = NET.astype(np.float32)
    broken.weights["V2"][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"^net must have finite weights \(no nan or inf\)"):
        head_scores(broken, TASK, n=4)


@settings(max_examples=examples(150), deadline=None, derandomize=True)
@given(
    task=st.sampled_from([TASK, CopyingTask(N=3, L=4, D=8), ClassificationTask(N=2, L=4, D=8, K=8), *OTHER_TASKS]),
    seed=SMALL,
    n=SMALL,
)
def test_fuzz_head_scores(task, seed, n):
    scores = outcome(lambda: head_scores(NET, task, seed=seed, n=n), ("task ", "seed ", "n "))
    if scores is not None:
        assert all(np.isfinite(v) for v in scores.values() if v is not None)
        T = 2 * task.N + 1  # chance values by hand: uniform causal attention, uniform over T tokens
        assert scores["previous_token_chance"] == pytest.approx(sum(1 / (i + 1) for i in range(1, T)) / (T - 1))
        assert scores["prefix_matching_chance"] == pytest.approx(1 / T)
        assert 0 <= scores["previous_token"] <= 1 and -1 <= scores["copying"] <= 1
