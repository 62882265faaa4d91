"""Pure functions and types: no files, no MLflow, no TensorFlow, no globals."""
