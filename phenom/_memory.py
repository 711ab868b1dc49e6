"""Keep freed memory for reuse: a training step allocates and frees the same few arrays of about a
megabyte every time, and glibc's malloc returns such blocks to the kernel (mmap/munmap, or trimming
the heap), so each step pays again for zeroed pages. On the 2-core virtual machine of the
benchmarks that page-fault cost was a third of a training step (benchmarks/bench_network.py
measures the step with and without this setting).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["reuse_freed_memory"]

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_SETTINGS = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 256 << 20), (_M_TOP_PAD, 16 << 20))
_applied: bool | None = None


def reuse_freed_memory() -> bool:
    """Ask glibc's malloc (``mallopt``) to serve blocks below 32 MiB from the heap and to keep up
    to 256 MiB of freed heap instead of returning it to the kernel. Process-wide and idempotent;
    the cost is that the process keeps its peak heap. Returns whether it applied (False off
    glibc, e.g. macOS or musl, where it does nothing)."""
    global _applied
    if _applied is None:
        _applied = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                mallopt = libc.mallopt
            except (OSError, AttributeError):
                return False
            mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
            _applied = all(mallopt(param, value) == 1 for param, value in _SETTINGS)
    return _applied
