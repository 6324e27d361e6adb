"""Executable, checked, step-by-step derivations: one module per result."""
