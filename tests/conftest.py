"""Shared test helpers live in tests/helpers.py, importable as `helpers` (pyproject.toml sets pytest's
`pythonpath`)."""
