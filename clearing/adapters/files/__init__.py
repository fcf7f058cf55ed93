"""File formats: OBLIGATIONS.csv, RATES.json and RESULT.json of ``clearing net``, invoices as
CSV, the journal as JSON lines, and ISO 20022 and CSV payment files."""
