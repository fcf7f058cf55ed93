"""Domain errors. Each names the field at fault so every edge can report it precisely."""

from __future__ import annotations


class ClearingError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(ClearingError):
    """Bad input: nothing was changed."""

    code = "invalid_input"


class NotFound(ClearingError):
    """The object does not exist, or the caller may not see it."""

    code = "not_found"


class Forbidden(ClearingError):
    """The caller's role may not do this."""

    code = "forbidden"


class Conflict(ClearingError):
    """The request conflicts with the current state (duplicate, wrong state, stale digest)."""

    code = "conflict"


class LedgerError(ClearingError):
    """A journal entry or chain breaks a ledger invariant."""

    code = "ledger_error"


class NotReady(ClearingError):
    """The database is unreachable or not migrated."""

    code = "not_ready"
