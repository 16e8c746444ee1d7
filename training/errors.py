"""The training half's names for the shared error taxonomy (contract.errors)."""
from contract.errors import AlgorithmError, ClientError, ConfigError, PlatformError  # noqa: F401
