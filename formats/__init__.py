"""Data formats shared by training and serving: recordIO-protobuf, CSV, JSON, JSON Lines, libsvm."""
from formats.batch import Batch, Csr, FormatError

__all__ = ["Batch", "Csr", "FormatError"]
