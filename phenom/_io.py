"""Result files, written atomically: a temporary file in the same folder, then a rename.

An interrupted run therefore leaves either the previous file or the new one, never half of one.
Every JSON result carries :func:`provenance` (package and library versions).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import platform
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

__all__ = ["atomic_write", "write_json", "write_csv", "read_json", "save_figure", "provenance", "code_version",
           "update_manifest"]


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a new temporary file beside ``path``, flush it to disk, then
    rename it over ``path``. On any failure (or interruption) the temporary file is removed and
    ``path`` keeps its previous contents."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        with open(tmp, "xb"):  # created with the usual permissions (umask respected)
            pass
        write(str(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def plain(value):
    """numpy scalars and arrays (nested in dicts, lists, tuples) as Python values; NaN stays NaN."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _jsonable(value):
    """:func:`plain`, with NaN as null and ±inf as strings: strict JSON."""
    value = plain(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def write_json(path, data: Mapping) -> Path:
    """Write ``data`` (numpy values allowed) as indented JSON, atomically."""
    text = json.dumps(_jsonable(data), indent=2) + "\n"
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def read_json(path) -> dict:
    """A JSON result file; a missing or unreadable one raises ``OSError`` naming the file."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise OSError(f"{path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise OSError(f"{path} is not valid JSON ({err})") from None


def write_csv(path, columns: Mapping[str, np.ndarray]) -> Path:
    """Write equal-length named columns as CSV, atomically: integer columns as integers, the
    rest as floats at full precision."""
    names = list(columns)
    data = [np.asarray(columns[n]).ravel() for n in names]
    fmt = [(lambda v: str(int(v))) if np.issubdtype(c.dtype, np.integer) else (lambda v: repr(float(v))) for c in data]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for row in zip(*data):
        writer.writerow([f(v) for f, v in zip(fmt, row)])
    return atomic_write(path, lambda tmp: Path(tmp).write_text(buf.getvalue()))


def save_figure(fig, path, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG, atomically, and close it."""
    import matplotlib.pyplot as plt

    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
    finally:
        plt.close(fig)


def provenance() -> dict:
    """Versions of phenom and the libraries that computed a result."""
    import matplotlib
    import scipy
    import sympy

    from . import __version__

    return {
        "phenom": __version__,
        "code": code_version(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sympy": sympy.__version__,
        "matplotlib": matplotlib.__version__,
    }


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """phenom's version and a hash of its source files (read once per process, so one run
    records one version): a result or checkpoint is reused only by the code that made it."""
    import hashlib

    from . import __version__

    digest = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def update_manifest(path, name: str, entry: Mapping) -> Path:
    """Set ``manifest[name] = entry`` in a JSON manifest, keeping every other entry."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text()) if path.exists() else {}
    except json.JSONDecodeError as err:
        raise OSError(f"{path} is not valid JSON ({err.msg}); move it aside to start a new manifest") from None
    manifest[name] = _jsonable(entry)
    return write_json(path, dict(sorted(manifest.items())))
