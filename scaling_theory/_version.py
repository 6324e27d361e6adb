"""The toolkit's version: the one source (``pyproject.toml`` reads it; a leaf module, imports nothing)."""

__version__ = "0.1.0"
