"""Computations behind the figures: each takes a setting (:mod:`phenom.figures.settings`) and the output
folder (for checkpoints and sweep files) and returns a JSON-able result, which the figure registry
(:mod:`phenom.figures.registry`) saves and draws. None of them draws or writes a figure."""
