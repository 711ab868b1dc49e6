"""phenom's version, in one place (read by the package and by the result files' provenance)."""

__version__ = "0.2.0"
