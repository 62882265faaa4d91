"""Entry points: one module per DVC stage, each with a `main()`."""
