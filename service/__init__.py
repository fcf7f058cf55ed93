"""The thin HTTP shell of the clearing engine (FastAPI)."""
