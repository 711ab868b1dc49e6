"""Result files (phenom._io): atomic writes, the manifest, the code version."""

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from phenom import _io


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path):
    target = tmp_path / "result.json"
    _io.write_json(target, {"run": 1})

    def half_then_crash(tmp):
        Path(tmp).write_text('{"run": 2, "trunc')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _io.atomic_write(target, half_then_crash)
    assert json.loads(target.read_text()) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary left behind


def test_json_round_trip_of_numpy_values(tmp_path):
    path = tmp_path / "r.json"
    _io.write_json(path, {"a": np.arange(3), "x": np.float32(0.5), "bad": [np.nan, np.inf, -np.inf]})
    assert _io.read_json(path) == {"a": [0, 1, 2], "x": 0.5, "bad": [None, "inf", "-inf"]}
    with pytest.raises(OSError, match="nope.json is missing"):
        _io.read_json(tmp_path / "nope.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(OSError, match="broken.json is not valid JSON"):
        _io.read_json(tmp_path / "broken.json")


def test_manifest_keeps_other_entries_and_refuses_a_corrupt_file(tmp_path):
    path = tmp_path / "manifest.json"
    _io.update_manifest(path, "b", {"files": ["b.png"]})
    _io.update_manifest(path, "a", {"files": ["a.png"]})
    assert list(json.loads(path.read_text())) == ["a", "b"]
    path.write_text("{not json")
    with pytest.raises(OSError, match="manifest.json is not valid JSON"):
        _io.update_manifest(path, "c", {})
    assert path.read_text() == "{not json"


def test_write_set_returns_the_sha256_of_the_bytes_it_wrote(tmp_path):
    hashes = _io.write_set({tmp_path / "a.txt": b"abc", tmp_path / "b.txt": b""})
    assert hashes == {  # FIPS 180-2's example, and the hash of nothing
        tmp_path / "a.txt": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        tmp_path / "b.txt": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
    assert (tmp_path / "a.txt").read_bytes() == b"abc" and (tmp_path / "b.txt").read_bytes() == b""


def test_manifest_updates_from_many_threads_keep_every_entry(tmp_path):
    path = tmp_path / "manifest.json"

    def update(k):
        for j in range(10):
            _io.update_manifest(path, f"t{k}-{j}", {"k": k, "j": j})

    threads = [threading.Thread(target=update, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    manifest = json.loads(path.read_text())
    assert manifest == {f"t{k}-{j}": {"k": k, "j": j} for k in range(6) for j in range(10)}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # the lock file goes with its holder


def test_the_manifest_lock_is_held_again_inside_itself_and_released_on_exit(tmp_path):
    path = tmp_path / "manifest.json"
    with _io.manifest_lock(path):
        _io.update_manifest(path, "a", {"files": []})  # the same thread: already held, no deadlock
        assert (tmp_path / ".manifest.json.lock").exists()
    assert not (tmp_path / ".manifest.json.lock").exists()
    with pytest.raises(KeyboardInterrupt), _io.manifest_lock(path):
        raise KeyboardInterrupt
    assert _taker(path).wait(5)


HOLD = """
import sys, time
from phenom import _io
with _io.manifest_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def _taker(path) -> threading.Event:
    """An event set once another thread of this process has taken the lock (and let it go)."""
    taken = threading.Event()

    def take():
        with _io.manifest_lock(path):
            taken.set()

    threading.Thread(target=take, daemon=True).start()
    return taken


def test_a_killed_holder_releases_the_manifest_lock(tmp_path):
    path = tmp_path / "manifest.json"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        taken = _taker(path)
        assert not taken.wait(0.5)  # the live holder keeps it
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert taken.wait(10)  # the system released the dead holder's lock
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_csv_writes_integers_as_integers(tmp_path):
    _io.write_csv(tmp_path / "t.csv", {"n": np.array([1, 2]), "x": np.array([0.1, 1 / 3])})
    assert (tmp_path / "t.csv").read_text() == f"n,x\n1,0.1\n2,{1 / 3!r}\n"


def test_code_version_names_the_release_and_the_source():
    from phenom import __version__

    version = _io.code_version()
    release, digest = version.split("+")
    assert release == __version__ and len(digest) == 12 and int(digest, 16) >= 0
    assert _io.provenance()["code"] == version


# -- the code version: what computes a result, not how it is drawn or documented -----------------

PACKAGE = {
    "__init__.py": '"""A tiny package."""\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n'
    "    from tiny import plots\n",
    "core.py": '"""Core."""\n\ndef rate(x):\n    """Twice x."""\n    return 2 * x  # doubled\n',
    "sub/__init__.py": "",
    "sub/run.py": '"""Runs."""\nfrom tiny.core import rate\nfrom . import helper\n\n'
    "def run(x):\n    return rate(helper.shift(x))\n",
    "sub/helper.py": "def shift(x):\n    return x + 1\n",
    "plots.py": '"""Plots."""\nCOLOUR = "red"\n',
}


def _tiny(root, **changes):
    for name, text in {**PACKAGE, **changes}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return _io.source_digest(root, "tiny", ["tiny.sub.run"])


def test_code_version_ignores_docstrings_comments_layout_and_unimported_modules(tmp_path):
    base = _tiny(tmp_path / "a")
    same = {
        "core.py": '"""Core, documented anew."""\n\n\ndef rate(x):  # a comment\n    """Two times x."""\n'
        "    return 2 * x\n",
        "plots.py": '"""Plots."""\nCOLOUR = "blue"\n',  # only under TYPE_CHECKING: never executed
        "sub/helper.py": '"""Now with a docstring."""\n\ndef shift(x):\n\n    return x + 1\n',
    }
    for name, text in same.items():
        assert _tiny(tmp_path / name.replace("/", "_"), **{name: text}) == base, name


def test_code_version_changes_with_the_code_of_an_imported_module(tmp_path):
    base = _tiny(tmp_path / "a")
    changed = {
        "core.py": "def rate(x):\n    return 3 * x\n",  # imported by absolute name
        "sub/helper.py": "def shift(x):\n    return x + 2\n",  # imported relatively
        "sub/__init__.py": "SCALE = 2\n",  # a package __init__ on the way
        "__init__.py": "import math\n",
    }
    for name, text in changed.items():
        assert _tiny(tmp_path / name.replace("/", "_"), **{name: text}) != base, name


def test_code_version_of_phenom_names_the_computing_modules(monkeypatch):
    # The source reader edited under the hashing: a plot module's change leaves the whole compute
    # code's version and a training checkpoint's unchanged (the checkpoint names the training loop
    # and the network's module); the network's changes both.
    real = _io._syntax
    edited = {"name": None}

    def syntax(path, name, package):
        dump, imported = real(path, name, package)
        return (dump + "edited" if name == edited["name"] else dump), imported

    monkeypatch.setattr(_io, "_syntax", syntax)
    uncached = _io._cached_version.__wrapped__
    versions = {}
    for name in (None, "phenom.figures.plots.network", "phenom.nets.attention"):
        edited["name"] = name
        versions[name] = (uncached(()), uncached(("phenom.nets.attention", "phenom.nets.training")))
    assert versions["phenom.figures.plots.network"] == versions[None]
    assert all(a != b for a, b in zip(versions["phenom.nets.attention"], versions[None], strict=True))
    assert _io.code_version("phenom.nets.training") != _io.code_version("phenom.induction.exact")
    with pytest.raises(ValueError, match="^modules must be names of phenom modules"):
        _io.code_version("numpy")
    with pytest.raises(ValueError, match="^modules must be modules of phenom, got 'phenom.nope'"):
        _io.code_version("phenom.nope")
