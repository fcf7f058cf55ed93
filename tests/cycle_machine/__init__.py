"""A Hypothesis state machine over the invoice and cycle use cases, run on PostgreSQL
(``tests/integration``) and on the in-memory unit of work (``tests/unit/use_cases``)."""
