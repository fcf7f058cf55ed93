"""An in-memory unit of work: every port of :mod:`clearing.use_cases.ports`, with the semantics
of the SQL repositories in :mod:`clearing.adapters.persistence`, so that the use cases' rules
run in milliseconds.

What it mirrors, port by port:

* **Transactions.** A unit of work keeps a working copy of the committed tables; only
  :meth:`FakeUnitOfWork.commit` publishes it, and leaving the outermost ``with`` block without a
  commit discards it. Entering an open unit of work again joins its transaction: ``commit``
  inside the inner block does nothing, the outermost block commits (as ``answer_once`` relies
  on). ``rollback`` discards the whole transaction, at any depth. Domain objects are frozen, so
  copying the containers is enough. Transactions are serialised: one that wrote and commits
  after another unit of work committed since it began is refused with :class:`Conflict`, as a
  serialisation failure would be (rather than losing the other's changes).
* **Reads.** The same order as the SQL: entities by code, participants by id, rules by kind and
  value, invoices by sequence, history in the order written, cycles by number descending,
  approvals by time and entity, a snapshot by invoice id, positions by entity and participant,
  pay-ins in the order recorded, refunds in the order made, the journal by ``seq``. Lists are
  filtered by :meth:`Scope.admits` on every party, as ``in_scope`` does in SQL, before paging.
* **Stored values.** What a row cannot hold is lost as it would be there: an invoice keeps its
  dispute only while disputed and its rejection only with a rule; JSON columns (dispute fields,
  event details, idempotent answers, the journal's cycle records, rates and figures) are stored
  and read back through JSON. Invoice sequences come from a counter that, like a database
  sequence, is not rolled back.
* **Constraints.** Where a SQL repository turns a violation into a domain error, so does this
  one (a duplicate entity, rule, invoice number or second active cycle is a
  :class:`Conflict`); where the database would refuse a row with a driver error, this raises
  :class:`IntegrityViolation`, which is no domain error either.

The package mirrors the adapter's layout: :mod:`tests.fakes.tables` (the state and the
constraints), :mod:`tests.fakes.repositories`, :mod:`tests.fakes.cycles`,
:mod:`tests.fakes.lines` and :mod:`tests.fakes.unit_of_work`.
"""

from tests.fakes.tables import IntegrityViolation
from tests.fakes.unit_of_work import FakeUnitOfWork, FakeUnitOfWorkFactory

__all__ = ["FakeUnitOfWork", "FakeUnitOfWorkFactory", "IntegrityViolation"]
