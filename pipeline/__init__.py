"""Keras models on tabular data: DVC stages, MLflow tracking and registry, BentoML serving.

Layers (imports run downwards only):
    stages/, serving/   entry points: read params, call io, ml and core
    io/                 files, params, MLflow tracking and registry
    ml/                 Keras: build, train, call a model (TensorFlow is imported only here)
    core/               pure functions and types: no files, no MLflow, no TensorFlow
"""

import gc

# Every entry point here (a DVC stage, a CLI, the service's workers) starts by importing some of
# TensorFlow, MLflow, pandas and scikit-learn: about a million objects, which the cyclic collector
# at Python's default thresholds (700, 10, 10) scans whole 8 times while they load, 1.0-1.2 s of
# a 5 s start-up (bench/RESULTS.md, "Where the time goes"). Collecting the youngest generation
# every 10,000 allocations instead leaves no full scan in a start-up; cycles are still collected.
YOUNG_GENERATION_THRESHOLD = 10_000
if gc.get_threshold()[0] < YOUNG_GENERATION_THRESHOLD:
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
