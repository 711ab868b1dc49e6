"""Small attention networks written in numpy, with hand-written backward passes."""

from .lsa import LinearAttention
from .optim import SGD, Adam
from .training import History, train

__all__ = ["LinearAttention", "SGD", "Adam", "History", "train"]
