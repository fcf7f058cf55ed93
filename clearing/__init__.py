"""A barter clearing and settlement-netting engine for mirrored cross-border clearing entities."""

__version__ = "0.1.0"
