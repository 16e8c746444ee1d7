"""The training half's names for the platform's paths (contract.paths)."""
from contract.paths import Paths, read_json  # noqa: F401
