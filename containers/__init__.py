"""One package per built-in algorithm; each declares itself in algorithm.yaml."""
