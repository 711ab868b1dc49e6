"""The cache folder (phenom._cache) by platform convention, and what is cached in it for the model."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from phenom import _cache


def test_phenom_cache_wins_when_set(monkeypatch, tmp_path):
    monkeypatch.setenv("PHENOM_CACHE", str(tmp_path / "mine"))
    assert _cache.cache_dir() == tmp_path / "mine" and (tmp_path / "mine").is_dir()


def test_an_unwritable_phenom_cache_falls_back_to_the_platform_folder(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PHENOM_CACHE", str(blocker / "sub"))  # cannot make a folder inside a file
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setitem(sys.modules, "platformdirs", None)  # as if platformdirs were not installed
    if sys.platform.startswith("linux"):
        assert _cache.cache_dir() == tmp_path / "xdg" / "phenom"


def test_the_fallback_follows_each_platform():
    home = {"HOME": "/home/ada"}
    assert _cache._fallback_cache_dir("linux", home) == Path("/home/ada/.cache/phenom")
    assert _cache._fallback_cache_dir("linux", home | {"XDG_CACHE_HOME": "/var/x"}) == Path("/var/x/phenom")
    # The XDG specification: a relative XDG_CACHE_HOME is ignored.
    assert _cache._fallback_cache_dir("linux", home | {"XDG_CACHE_HOME": "rel"}) == Path("/home/ada/.cache/phenom")
    assert _cache._fallback_cache_dir("freebsd13", home) == Path("/home/ada/.cache/phenom")
    assert _cache._fallback_cache_dir("darwin", home) == Path("/home/ada/Library/Caches/phenom")
    win = _cache._fallback_cache_dir("win32", {"LOCALAPPDATA": r"C:\Users\ada\AppData\Local"})
    assert str(win).replace("\\", "/").endswith("C:/Users/ada/AppData/Local/phenom/Cache")


def test_platformdirs_is_used_when_installed(monkeypatch, tmp_path):
    platformdirs = pytest.importorskip("platformdirs")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.platform_cache_dir() == Path(platformdirs.user_cache_dir("phenom"))
    if sys.platform.startswith("linux"):  # and agrees with the fallback's reading of the convention
        assert _cache.platform_cache_dir() == _cache._fallback_cache_dir(sys.platform, os.environ)
    monkeypatch.setitem(sys.modules, "platformdirs", None)
    assert _cache.platform_cache_dir() == _cache._fallback_cache_dir(sys.platform, os.environ)


def test_the_model_is_lambdified_once_per_machine_and_a_damaged_file_again(tmp_path):
    """A fresh process with an empty cache lambdifies and writes the source; the next one loads
    that file (it is not written again: same inode); a damaged file is derived again and replaced."""
    script = (
        "import math, sys\nfrom phenom import InductionHeadModel\n"
        "m = InductionHeadModel(8, 32)\nassert abs(float(m.loss(0, 0, 0)) - math.log(32)) < 1e-14\n"
        "print(int('numba' in sys.modules))"
    )
    env = {**os.environ, "PHENOM_CACHE": str(tmp_path)}

    def run():
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        files = list(tmp_path.glob("phenom_model_*.py"))
        assert len(files) == 1 and out.stdout.split() == ["0"]  # numba is not needed for the numbers
        return files[0], files[0].stat().st_ino

    path, first = run()
    assert "def loss(beta, alpha, xi, N, L):" in path.read_text()
    assert run()[1] == first
    path.write_text("def loss(:\n")
    path, replaced = run()
    assert replaced != first and "def grad(beta, alpha, xi, N, L):" in path.read_text()
