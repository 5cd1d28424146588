"""Benchmarks of kerasae against hand-written TensorFlow and PyTorch loops (see README.md).

Nothing here is imported by kerasae; `python benchmarks/run.py` writes RESULTS.md.
"""
