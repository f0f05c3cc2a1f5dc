"""Lowering: a parsed function becomes an SSA graph of primitive ops and regions."""

from .lowerer import linearize
