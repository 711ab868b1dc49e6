"""The compiled Box–Muller radius (phenom.nets._box_muller) against the C library's log1pf and
against float64 arithmetic."""

import ctypes
import ctypes.util
import platform

import numpy as np

from phenom.nets._box_muller import radius

UNIFORMS = np.arange(2**24, dtype=np.float32) * np.float32(2.0**-24)
"""Every float32 uniform numpy's generator can return: k / 2^24, k = 0 … 2^24 − 1."""


def _libm_log1pf():
    name = ctypes.util.find_library("m")
    if name is None:
        return None
    fn = ctypes.CDLL(name).log1pf
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return fn


def test_radius_is_within_an_ulp_of_the_float64_value_on_every_uniform():
    # Independent of any C library: sqrt(−2 log1p(−u)) in float64, rounded once to float32. The
    # float32 algorithm (two float32 roundings of log1p and of the product, then sqrt) stays
    # within one float32 ulp of it.
    exact = np.sqrt(-2.0 * np.log1p(-UNIFORMS.astype(np.float64)))
    r = radius(UNIFORMS).astype(np.float64)
    ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert r[0] == 0.0
    assert np.all(np.abs(r - exact) <= ulp)


def test_radius_is_glibc_log1pf_bit_for_bit():
    # The C library's own log1pf (called through ctypes, one number at a time) on a spread of
    # uniforms and on the hard ones: around 1 − 1/√2 where the algorithm switches from the series
    # in u to the reduced argument, around powers of two of 1 − u, and near 1.
    log1pf = _libm_log1pf()
    assert log1pf is not None and platform.libc_ver()[0] == "glibc", (
        "the radius is documented as glibc's log1pf bit for bit; this platform has another C library"
    )
    k = np.unique(
        np.concatenate(
            [
                np.arange(0, 2**24, 997),
                int(0.2929 * 2**24) + np.arange(-3000, 3000),
                2**24 - (2 ** np.arange(24))[:, None] + np.arange(-3, 4),  # 1 − u = 2^-j and neighbours
                2**24 - np.arange(1, 3000),
            ],
            axis=None,
        )
    )
    k = k[(k >= 0) & (k < 2**24)]
    u = UNIFORMS[k]
    expected = np.array([np.sqrt(np.float32(-2) * np.float32(log1pf(float(-x)))) for x in u], dtype=np.float32)
    assert np.array_equal(radius(u).view(np.uint32), expected.view(np.uint32))


def test_radius_is_glibc_log1pf_on_every_uniform_and_on_random_float32_numbers():
    # All 2^24 uniforms and 2·10^6 other float32 numbers in [0, 1) against glibc's log1pf. numpy's
    # float32 log1p is a fast stand-in for it where it is glibc's on a sample of 4096 uniforms
    # (checked here, and so on this machine); elsewhere glibc is called through ctypes, one
    # number at a time (about 15 s).
    log1pf = _libm_log1pf()
    assert log1pf is not None and platform.libc_ver()[0] == "glibc", (
        "the radius is documented as glibc's log1pf bit for bit; this platform has another C library"
    )
    sample = UNIFORMS[:: 2**12]
    numpy_is_glibc = np.array_equal(np.log1p(-sample), np.array([log1pf(float(-x)) for x in sample], dtype=np.float32))

    def reference(u):
        logs = np.log1p(-u) if numpy_is_glibc else np.array([log1pf(float(-x)) for x in u], np.float32)
        return np.sqrt(np.float32(-2) * logs)

    assert np.array_equal(radius(UNIFORMS).view(np.uint32), reference(UNIFORMS).view(np.uint32))
    bits = np.random.default_rng(0).integers(0, 0x3F800000, size=2_000_000, dtype=np.int64).astype(np.uint32)
    u = bits.view(np.float32)
    assert np.array_equal(radius(u).view(np.uint32), reference(u).view(np.uint32))
