"""Keras models on tabular data: DVC stages, MLflow tracking and registry, BentoML serving.

Layers (imports run downwards only):
    stages/, serving/   entry points: read params, call io, ml and core
    io/                 files, params, MLflow tracking and registry
    ml/                 Keras: build, train, call a model (TensorFlow is imported only here)
    core/               pure functions and types: no files, no MLflow, no TensorFlow
"""
