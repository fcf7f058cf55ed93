"""Adapters to the world outside the domain: persistence (the only SQLAlchemy) and files."""
