"""Figures: each function draws one figure from a saved result (the JSON dict its computation
wrote) and returns it as a :class:`matplotlib.figure.Figure`. Nothing here computes science: every
plotted number is in the result. One module per family of figures (:mod:`.induction`,
:mod:`.network`, :mod:`.compare`, :mod:`.extended`, :mod:`.lsa`), each function named after its figure.

Importing or drawing changes neither the caller's matplotlib backend nor its ``rcParams``
(:mod:`._style`)."""
