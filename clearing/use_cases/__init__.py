"""The use cases, one module per area: each takes a unit of work, checks who may act, changes
state and commits. ``ports`` holds the storage protocols they need (DESIGN §9)."""
