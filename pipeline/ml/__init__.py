"""Keras: building, training and calling models. The only package that imports TensorFlow."""
