import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # tests/reference.py


def examples(n: int) -> int:
    """Hypothesis example count; PHENOM_HYPOTHESIS_SCALE=20 runs a 20x longer search."""
    return int(n * float(os.environ.get("PHENOM_HYPOTHESIS_SCALE", "1")))
