"""Jobs that compute, draw and save: one function per figure.

Each job writes ``<name>.png`` beside the data it plots (CSV and/or JSON, with parameters, seeds
and library versions) into ``out``, atomically, and returns the entry :func:`phenom.reproduce`
records in ``out/manifest.json``. The CLI's commands are these jobs with parameters from the
command line.
"""

from . import induction, lsa, network

__all__ = ["induction", "lsa", "network"]
