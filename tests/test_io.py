"""Result files (phenom._io): atomic writes, the manifest, the code version."""

import json
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


def test_csv_writes_integers_as_integers(tmp_path):
    _io.write_csv(tmp_path / "t.csv", {"n": np.array([1, 2]), "x": np.array([0.1, 1 / 3])})
    assert (tmp_path / "t.csv").read_text() == f"n,x\n1,0.1\n2,{1 / 3!r}\n"


def test_code_version_names_the_release_and_the_source():
    from phenom import __version__

    version = _io.code_version()
    release, digest = version.split("+")
    assert release == __version__ and len(digest) == 12 and int(digest, 16) >= 0
    assert _io.provenance()["code"] == version
