"""Benchmarks of s2s's generated gradients against a hand-written numpy gradient,
autograd, JAX, PyTorch and Tangent (see benchmarks/README.md)."""
