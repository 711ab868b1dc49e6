"""One look for every figure: matplotlib without a display, readable at README size."""

import matplotlib

matplotlib.use("Agg")  # figures are written to files; no display is needed or assumed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "legend.fontsize": 9.5, "figure.dpi": 110})

PARAMETERS = ("beta", "alpha", "xi")
SYMBOL = {"beta": r"$\beta$", "alpha": r"$\alpha$", "xi": r"$\xi$"}
COLOR = {"beta": "tab:blue", "alpha": "tab:orange", "xi": "tab:green"}

__all__ = ["plt", "SYMBOL", "COLOR", "PARAMETERS", "arr", "plain_log_ticks"]


def arr(values) -> np.ndarray:
    """A saved column as a float array (JSON's null, a missing value, becomes NaN)."""
    a = np.array(values, dtype=object)
    a[np.equal(a, None)] = np.nan
    return a.astype(float)


def plain_log_ticks(axis) -> None:
    """Decimal tick labels (0.5, 1, 2 …) on a log-scaled axis instead of 5 × 10⁻¹."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    fmt = FuncFormatter(lambda v, _: f"{v:.0f}" if v >= 1 and float(v).is_integer() else f"{v:.3g}")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(fmt)
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
