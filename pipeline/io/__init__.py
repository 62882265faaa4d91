"""Thin I/O around the core: files, params, MLflow tracking and registry."""
