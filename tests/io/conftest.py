"""Fixtures of the io tests: a real MLflow registry in a SQLite store (tests/io/registry_store.py)."""

from tests.io.registry_store import name, registry_home, store  # noqa: F401
