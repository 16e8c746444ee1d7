"""The training half's view of the registry (contract.registry)."""
from contract.registry import available, declaration_of  # noqa: F401
from contract.registry import resolve as _resolve


def resolve(name=None):
    """(declaration, training module) for ALGORITHM."""
    return _resolve(name, side="training")
