"""Where phenom keeps what it derives or compiles once per machine: one folder, chosen by convention.

``$PHENOM_CACHE`` if set; else the platform's user cache folder for "phenom": the one
``platformdirs.user_cache_dir("phenom")`` names when platformdirs is installed (it is not a
dependency), else the same conventions written out here (Linux and other Unix:
``$XDG_CACHE_HOME/phenom`` or ``~/.cache/phenom``; macOS: ``~/Library/Caches/phenom``; Windows:
``%LOCALAPPDATA%\\phenom\\Cache``). A folder that cannot be created or written is skipped; if
none can, a fresh temporary folder is used (then every process derives and compiles again).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "platform_cache_dir"]

APP = "phenom"


def platform_cache_dir() -> Path:
    """The platform's user cache folder for phenom (not created)."""
    try:
        import platformdirs
    except ImportError:
        return _fallback_cache_dir(sys.platform, os.environ)
    return Path(platformdirs.user_cache_dir(APP))


def _fallback_cache_dir(platform: str, environ) -> Path:
    """The user cache folder by the platform's convention, without platformdirs."""
    home = Path(environ.get("HOME") or Path.home())
    if platform.startswith("win"):
        local = environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(local) / APP / "Cache"
    if platform == "darwin":
        return home / "Library" / "Caches" / APP
    xdg = environ.get("XDG_CACHE_HOME", "")
    # The XDG specification ignores a relative path.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".cache"
    return base / APP


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
        return True
    except OSError:
        return False


def cache_dir() -> Path:
    """The cache folder (created): ``$PHENOM_CACHE``, else :func:`platform_cache_dir`, else a
    temporary folder."""
    chosen = os.environ.get("PHENOM_CACHE")
    for folder in ([Path(chosen)] if chosen else []) + [platform_cache_dir()]:
        if _writable(folder):
            return folder
    return Path(tempfile.mkdtemp(prefix="phenom-"))
