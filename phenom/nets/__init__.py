"""Small attention networks written in numpy, with hand-written backward passes."""

from phenom.nets.attention import AttentionNetwork
from phenom.nets.checkpoint import CheckpointError, checkpoint_file
from phenom.nets.heads import head_scores
from phenom.nets.history import History
from phenom.nets.lsa import LinearAttention
from phenom.nets.optim import SGD, Adam
from phenom.nets.tasks import CopyingTask
from phenom.nets.training import Diverged, train

__all__ = ["AttentionNetwork", "head_scores", "CopyingTask", "LinearAttention", "SGD", "Adam", "History", "train",
           "CheckpointError", "Diverged", "checkpoint_file"]
