"""The SQLAlchemy unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.persistence.ageing import AgeingRuleRepository
from clearing.adapters.persistence.bank import BankEntryRepository
from clearing.adapters.persistence.cycles import CycleRepository
from clearing.adapters.persistence.database import (
    alembic_config,
    current_revision,
    make_engine,
    session_factory,
)
from clearing.adapters.persistence.idempotency import IdempotencyRepository
from clearing.adapters.persistence.invoices import InvoiceRepository
from clearing.adapters.persistence.keys import ApiKeyRepository
from clearing.adapters.persistence.ledger import LedgerRepository
from clearing.adapters.persistence.lines import LineRepository
from clearing.adapters.persistence.parties import EntityRepository, ParticipantRepository
from clearing.adapters.persistence.rules import RuleRepository
from clearing.adapters.persistence.stats import StatsRepository
from clearing.domain.errors import Conflict, NotReady


class SqlUnitOfWork:
    """One session and its transaction; re-entering it joins the transaction (see the port)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._depth = 0

    def __enter__(self) -> Self:
        self._depth += 1
        if self._depth == 1:
            self.session = self._sessions()
            self.entities = EntityRepository(self.session)
            self.participants = ParticipantRepository(self.session)
            self.api_keys = ApiKeyRepository(self.session)
            self.invoices = InvoiceRepository(self.session)
            self.rules = RuleRepository(self.session)
            self.ageing_rules = AgeingRuleRepository(self.session)
            self.idempotency = IdempotencyRepository(self.session)
            self.cycles = CycleRepository(self.session)
            self.ledger = LedgerRepository(self.session)
            self.bank = BankEntryRepository(self.session)
            self.stats = StatsRepository(self.session)
            self.lines = LineRepository(self.session)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.session.rollback()
            self.session.close()
            if isinstance(value, OperationalError) and _lost_a_race(value):
                # PostgreSQL chose this transaction to undo; trying again may succeed.
                raise Conflict("a concurrent change won; try again") from value

    def commit(self) -> None:
        if self._depth > 1:
            return  # the outermost block commits
        try:
            self.session.commit()
        except IntegrityError as error:
            self.session.rollback()
            raise Conflict("the change conflicts with data stored meanwhile") from error
        except OperationalError as error:
            self.session.rollback()
            if _lost_a_race(error):
                raise Conflict("a concurrent change won; try again") from error
            raise

    def rollback(self) -> None:
        self.session.rollback()


def _lost_a_race(error: OperationalError) -> bool:
    """Whether PostgreSQL undid the transaction for a deadlock or a serialization failure."""
    return "could not serialize" in str(error.orig) or "deadlock" in str(error.orig)


class SqlUnitOfWorkFactory:
    """Makes units of work on one engine (one connection pool per process)."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or make_engine()
        self.sessions = session_factory(self.engine)

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions)

    def check_schema(self) -> None:
        """Raise :class:`NotReady` unless the database answers and is migrated to head."""
        from alembic.script import ScriptDirectory

        try:
            revision = current_revision(self.engine)
        except OperationalError as error:
            raise NotReady(f"the database does not answer: {error.orig}") from None
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        if revision != head:
            raise NotReady(
                f"the database is at migration {revision or 'none'}, not {head}: "
                "run `clearing db upgrade`"
            )
