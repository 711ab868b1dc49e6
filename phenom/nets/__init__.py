"""Small attention networks written in numpy, with hand-written backward passes."""

from ..tasks import CopyingTask
from .attention import AttentionNetwork
from .heads import head_scores
from .lsa import LinearAttention
from .optim import SGD, Adam
from .training import History, train

__all__ = ["AttentionNetwork", "head_scores", "CopyingTask", "LinearAttention", "SGD", "Adam", "History", "train"]
