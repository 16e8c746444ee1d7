"""The contract's ClientError (contract.errors once the interface lands; training.errors before)."""
try:
    from contract.errors import ClientError
except ImportError:  # the old layout: the same class lives in training.errors
    from training.errors import ClientError

__all__ = ["ClientError"]
