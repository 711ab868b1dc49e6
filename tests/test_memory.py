"""phenom._memory: glibc's malloc keeps freed blocks of a training step for reuse."""

import platform
import subprocess
import sys

import pytest

CODE = """
import resource, sys
import numpy as np
from phenom import _memory
if sys.argv[1] == "on":
    assert _memory.reuse_freed_memory() is True and _memory.reuse_freed_memory() is True
def rounds(k):  # four 4 MiB arrays (4096 pages) written, then all freed
    for _ in range(k):
        arrays = [np.ones(1 << 22, np.uint8) for _ in range(4)]
        del arrays
rounds(2)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
rounds(50)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_freed_arrays_are_reused_without_page_faults():
    # Fresh processes, the same 50 rounds: glibc's defaults hand the freed 16 MiB back to the
    # kernel (heap trimmed above twice the dynamic mmap threshold), so every round faults its
    # pages in again; with the setting the memory stays mapped and is reused.
    faults = {mode: int(subprocess.run([sys.executable, "-c", CODE, mode], capture_output=True, text=True,
                                       check=True).stdout) for mode in ("off", "on")}
    assert faults["off"] > 50 * 1024  # at least one array per round: what the setting is for
    assert faults["on"] < 100
