"""The training half of the container contract, algorithm-agnostic."""
