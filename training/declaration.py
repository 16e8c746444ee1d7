"""The training half's names for declaration loading and validation (contract.declaration)."""
from contract.declaration import convert, load, validate, validate_channels  # noqa: F401
