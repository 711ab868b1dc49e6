"""Linear self-attention as preconditioned gradient descent on in-context least squares
(von Oswald et al., ICML 2023; Ahn et al., NeurIPS 2023; Zhang, Frei and Bartlett, JMLR 2024).

- :mod:`~phenom.linear.model`: :class:`LinearICL`, the reduced predictor's risk, optimum and flows;
- :mod:`~phenom.linear.task`: sampling in-context regression tasks;
- :mod:`~phenom.linear._gaussian`: Gaussian expectations (Isserlis) for the symbolic risk.
"""

from phenom.linear.gd import best_step_size, pgd_predict
from phenom.linear.model import FactoredFlow, LinearICL
from phenom.linear.task import RegressionBatch, sample_regression

__all__ = ["LinearICL", "FactoredFlow", "pgd_predict", "best_step_size", "RegressionBatch", "sample_regression"]
