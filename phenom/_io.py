"""Result files, written atomically: a temporary file in the same folder, then a rename.

An interrupted run therefore leaves either the previous file or the new one, never half of one.
Every JSON result carries :func:`provenance` (package and library versions). Runs that write into
one folder at once take turns through :func:`manifest_lock` (a POSIX file lock): a figure's files
and its manifest entry are written by one run at a time.
"""

from __future__ import annotations

import ast
import csv
import functools
import glob
import hashlib
import io
import json
import os
import platform
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from phenom._version import __version__

__all__ = [
    "atomic_write",
    "atomic_set",
    "write_set",
    "manifest_lock",
    "file_hash",
    "file_stem",
    "remove_stale",
    "json_text",
    "text_writer",
    "csv_text",
    "csv_writer",
    "figure_bytes",
    "figure_writer",
    "write_json",
    "write_csv",
    "read_json",
    "save_figure",
    "provenance",
    "code_version",
    "source_digest",
    "update_manifest",
]


def _host() -> str:
    """A short tag of this machine: a temporary file's writer is known dead only on its own host."""
    return hashlib.sha256(platform.node().encode()).hexdigest()[:8]


def _temporary(path: Path) -> Path:
    """A new temporary name beside ``path``, tagged with this process's id and host."""
    return path.parent / f".{path.name}.{os.getpid()}-{_host()}-{uuid.uuid4().hex[:12]}.tmp"


def remove_stale(path: Path) -> None:
    """Remove the temporary files that writes of ``path`` by processes no longer running on this
    machine left behind (a run killed while writing); those of live processes, and of other
    machines sharing the folder, are kept."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*-*-*.tmp"):
        pid, host, _ = tmp.name[len(path.name) + 2 : -len(".tmp")].split("-", 2)
        if pid.isdigit() and host == _host() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp_path)`` on a new temporary file beside ``path``, flush it to disk, then
    rename it over ``path``. On any failure (or interruption) the temporary file is removed and
    ``path`` keeps its previous contents; temporary files that a killed process left beside
    ``path`` are removed first."""
    return atomic_set({path: write})[0]


def atomic_set(writers: Mapping[str | os.PathLike, Callable[[str], object]]) -> list[Path]:
    """Write several files as one set: every file to its temporary, flushed, and only then all
    renamed into place (in the order given). A failure before the renames leaves every file as
    it was; the renames themselves take microseconds. Returns the paths."""
    paths = [Path(p) for p in writers]
    temps = []
    try:
        for path, write in zip(paths, writers.values(), strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale(path)
            tmp = _temporary(path)
            temps.append(tmp)
            with open(tmp, "xb"):  # created with the usual permissions (umask respected)
                pass
            write(str(tmp))
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        for tmp, path in zip(temps, paths, strict=True):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    return paths


def write_set(files: Mapping[str | os.PathLike, bytes]) -> dict[Path, str]:
    """Write each file's bytes, as one set (:func:`atomic_set`). Returns each path's sha256, of the
    bytes in memory: what this call wrote, whatever another process renames over it later."""
    hashes = {Path(p): hashlib.sha256(data).hexdigest() for p, data in files.items()}
    atomic_set({p: _bytes_writer(data) for p, data in files.items()})
    return hashes


def _bytes_writer(data: bytes) -> Callable[[str], object]:
    return lambda tmp: Path(tmp).write_bytes(data)


_held = threading.local()
"""The locks this thread holds (their paths): a lock taken again inside itself is already held."""


@contextmanager
def manifest_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold the lock of the manifest at ``path`` and of the files it names, for writing them: one
    process (and one thread) at a time, the others wait. Taken again inside itself by the same
    thread, it is already held.

    The lock is ``flock`` on a file beside the manifest, ``.NAME.lock``: POSIX only (Linux,
    macOS); elsewhere it raises OSError. The system releases it when its process dies, killed
    or not, so no dead process holds it. The holder removes the file on release; a waiter that
    then holds a removed file's lock opens the file again, so one file's lock is the lock."""
    path = Path(path)
    lock = path.parent / f".{path.name}.lock"
    key = os.path.realpath(lock)  # one key however the folder is named
    held = _held.__dict__.setdefault("paths", set())
    if key in held:
        yield
        return
    fd = _acquire(lock)
    held.add(key)
    try:
        yield
    finally:
        held.discard(key)
        lock.unlink(missing_ok=True)  # before the release: a waiter finds the file gone and opens anew
        os.close(fd)


def _acquire(lock: Path) -> int:
    """An open descriptor of ``lock`` holding its exclusive flock, once no one else holds it."""
    try:
        import fcntl
    except ImportError:
        raise OSError("writing figures takes a POSIX file lock (fcntl.flock); this platform has none") from None
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _same_file(fd, lock):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # its holder removed it on release: lock the file that is there now


def _same_file(fd: int, path: Path) -> bool:
    try:
        there = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino)


def file_hash(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes (the manifest records one per file of a figure)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_stem(name: str, value) -> str:
    """A file name without folders: not empty, no path separator, not '.' or '..'."""
    if (
        not isinstance(value, str)
        or not value
        or value in (".", "..")
        or "/" in value
        or os.sep in value
        or (os.altsep and os.altsep in value)
        or "\0" in value
    ):
        raise ValueError(
            f"{name} must be a file name without folders (no '/', not empty, not '.' or '..'), got {value!r}"
        )
    return value


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


def json_text(data: Mapping) -> str:
    """``data`` (numpy values allowed) as the indented, strict JSON that :func:`write_json` writes."""
    return json.dumps(_jsonable(data), indent=2) + "\n"


def text_writer(text: str) -> Callable[[str], object]:
    return lambda tmp: Path(tmp).write_text(text)


def write_json(path, data: Mapping) -> Path:
    """Write ``data`` (numpy values allowed) as indented JSON, atomically."""
    return atomic_write(path, text_writer(json_text(data)))


def read_json(path) -> dict:
    """A JSON result file; a missing or unreadable one raises ``OSError`` naming the file."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise OSError(f"{path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise OSError(f"{path} is not valid JSON ({err})") from None


def csv_writer(columns: Mapping[str, np.ndarray]) -> Callable[[str], object]:
    """A writer of equal-length named columns as CSV (:func:`csv_text`)."""
    return text_writer(csv_text(columns))


def csv_text(columns: Mapping[str, np.ndarray]) -> str:
    """Equal-length named columns as CSV: integer columns as integers, the rest as floats at full
    precision."""
    names = list(columns)
    data = [np.asarray(columns[n]).ravel() for n in names]
    fmt = [(lambda v: str(int(v))) if np.issubdtype(c.dtype, np.integer) else (lambda v: repr(float(v))) for c in data]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for row in zip(*data, strict=True):
        writer.writerow([f(v) for f, v in zip(fmt, row, strict=True)])
    return buf.getvalue()


def write_csv(path, columns: Mapping[str, np.ndarray]) -> Path:
    """Write equal-length named columns as CSV (:func:`csv_writer`), atomically."""
    return atomic_write(path, csv_writer(columns))


def figure_writer(fig, dpi: int = 110) -> Callable[[str], None]:
    """A writer of a matplotlib figure as PNG; it closes the figure once written."""
    import matplotlib.pyplot as plt

    def write(tmp):
        try:
            fig.savefig(tmp, format="png", dpi=dpi)
        finally:
            plt.close(fig)

    return write


def figure_bytes(fig, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes, in memory (what :func:`figure_writer` writes); it closes
    the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buf.getvalue()


def save_figure(fig, path, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG, atomically, and close it."""
    import matplotlib.pyplot as plt

    try:
        return atomic_write(path, figure_writer(fig, dpi))
    finally:
        plt.close(fig)


def provenance() -> dict:
    """Versions of phenom and the libraries that computed a result."""
    import matplotlib
    import scipy
    import sympy

    return {
        "phenom": __version__,
        "code": code_version(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sympy": sympy.__version__,
        "matplotlib": matplotlib.__version__,
    }


UNVERSIONED = ("phenom.figures.plots", "phenom.figures.cli", "phenom.figures.registry")
"""Modules that draw or dispatch but compute no result: left out of :func:`code_version` without arguments."""


def code_version(*modules: str) -> str:
    """phenom's version and a hash of the code that computes a result, read once per process (so
    one run records one version): a figure's sweep rows, the figures' training runs and a
    checkpoint kept in a folder are reused only by the same code (a checkpoint file named by the
    caller is checked against its configuration, not the code).

    With module names (``code_version("phenom.nets.training")``), the code is those modules and
    every phenom module they import, transitively (found statically, imports inside functions
    included, ``if TYPE_CHECKING:`` blocks not), with the package ``__init__`` files on the way.
    Without, it is every module but the plots, the CLI and the registry (:data:`UNVERSIONED`).
    Each module counts by its syntax tree without docstrings: comments, docstrings and layout do
    not change the version, a changed statement does.
    """
    for name in modules:
        if not isinstance(name, str) or not (name == "phenom" or name.startswith("phenom.")):
            raise ValueError(f"modules must be names of phenom modules (e.g. 'phenom.nets.training'), got {name!r}")
    return _cached_version(tuple(sorted(set(modules))))


@functools.cache
def _cached_version(modules: tuple[str, ...]) -> str:
    root = Path(__file__).parent
    if modules:
        digest = source_digest(root, "phenom", modules)
    else:
        every = [
            name
            for name in _package_modules(root, "phenom")
            if not any(name == u or name.startswith(u + ".") for u in UNVERSIONED)
        ]
        digest = source_digest(root, "phenom", every, follow=False)
    return f"{__version__}+{digest[:12]}"


def source_digest(root: Path, package: str, modules, *, follow: bool = True) -> str:
    """The sha256 (hex) of the docstring-free syntax trees of ``modules`` of the package at
    ``root`` named ``package`` and, with ``follow``, of the package's modules they import,
    transitively, and the package ``__init__`` files on the way. A module that is not a file of
    the package raises ValueError."""
    todo, seen = list(modules), {}
    for name in todo:
        path = _module_file(root, package, name)
        if path is None:
            raise ValueError(f"modules must be modules of {package}, got {name!r} (no such file under {root})")
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(root, package, name)
        if path is None:  # an imported name that is not a module (a function, a class)
            continue
        seen[name], imported = _syntax(path, name, package)
        if follow:
            parts = name.split(".")
            todo += [".".join(parts[:k]) for k in range(1, len(parts))] + imported
    digest = hashlib.sha256()
    for name in sorted(seen):
        digest.update(f"{name}\0{seen[name]}\0".encode())
    return digest.hexdigest()


def _package_modules(root: Path, package: str) -> list[str]:
    """Every module of the package at ``root``, by dotted name."""
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join([package, *parts]))
    return names


def _module_file(root: Path, package: str, name: str) -> Path | None:
    if name != package and not name.startswith(package + "."):
        return None
    rel = Path(*name.split(".")[1:]) if name != package else Path()
    for path in (root / rel / "__init__.py", root / rel.with_suffix(".py") if name != package else None):
        if path is not None and path.is_file():
            return path
    return None


def _syntax(path: Path, name: str, package: str) -> tuple[str, list[str]]:
    """A module's syntax tree without docstrings (``ast.dump``, positions left out) and the
    package's modules it imports (by name; a name may turn out to be a function or a class).
    Remembered by the module's bytes, so the code versions of several module sets (a figure
    check asks for eight) parse each shared module once, and an edited file is read afresh."""
    syntax, imported = _parsed(path.read_bytes(), name, package, path.name == "__init__.py")
    return syntax, list(imported)


@functools.lru_cache(maxsize=1024)
def _parsed(source: bytes, name: str, package: str, is_package: bool) -> tuple[str, tuple[str, ...]]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # not Python we can read: its bytes stand for it
        return hashlib.sha256(source).hexdigest(), ()
    imported = []
    for node in _executed(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                here = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            imported += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return ast.dump(tree), tuple(m for m in imported if m == package or m.startswith(package + "."))


def _executed(tree):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (imports for type checkers)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                stack += child.orelse
                continue
            stack.append(child)


def _is_type_checking(test) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def update_manifest(path, name: str, entry: Mapping) -> Path:
    """Set ``manifest[name] = entry`` in a JSON manifest, keeping every other entry, under the
    manifest's lock (:func:`manifest_lock`): runs that update it at once all keep their entries."""
    path = Path(path)
    with manifest_lock(path):
        try:
            manifest = json.loads(path.read_text()) if path.exists() else {}
        except json.JSONDecodeError as err:
            raise OSError(f"{path} is not valid JSON ({err.msg}); move it aside to start a new manifest") from None
        manifest[name] = _jsonable(entry)
        return write_json(path, dict(sorted(manifest.items())))
