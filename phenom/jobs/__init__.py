"""Computations behind the figures: each takes a setting (:mod:`phenom.settings`) and the output
folder (for checkpoints and sweep files) and returns a JSON-able result, which the figure registry
(:mod:`phenom.figures`) saves and draws. None of them draws or writes a figure."""
