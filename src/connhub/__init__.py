"""connhub: a desktop connection manager."""

__version__ = "0.1.0"
