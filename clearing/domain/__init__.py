"""The pure domain: values and rules, no I/O and no framework (DESIGN §9)."""
