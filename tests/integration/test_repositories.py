"""Repositories translate between rows and immutable domain objects, losing nothing."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import update

from clearing.adapters.persistence.tables import ApiKeyRow
from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from clearing.domain.access import Principal, Role, Scope
from clearing.domain.compliance import Rule, RuleKind
from clearing.domain.errors import Conflict
from clearing.domain.idempotency import StoredAnswer
from clearing.domain.invoices import (
    Dispute,
    Invoice,
    InvoiceEvent,
    InvoiceFilter,
    Rejection,
    Status,
)
from clearing.domain.parties import Entity, Participant

CN = Entity("CN", "CNY", "China clearing")
RU = Entity("RU", "RUB", "Russia clearing")
KZ = Entity("KZ", "KZT", "Kazakhstan clearing")
PARTICIPANTS = [
    Participant("CN-A", "CN", "Heihe Soy", "91230000", "6222"),
    Participant("CN-B", "CN", "Suifenhe Machinery"),
    Participant("RU-A", "RU", "Amur Timber", "2801", "40702"),
    Participant("KZ-A", "KZ", "Astana Grain"),
]


@pytest.fixture
def seeded(uows: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    with uows() as uow:
        for entity in (CN, RU, KZ):
            uow.entities.add(entity)
        for participant in PARTICIPANTS:
            uow.participants.add(participant)
        uow.commit()
    return uows


def invoice(n: int, exporter: str = "CN-A", importer: str = "RU-A", **changes: object) -> Invoice:
    made = Invoice(
        id=f"inv_{n:032x}",
        invoice_number=f"N-{n:04d}",
        exporter_id=exporter,
        exporter_entity=exporter[:2],
        importer_id=importer,
        importer_entity=importer[:2],
        currency="CNY",
        amount=1_000_00 + n,
        outstanding=1_000_00 + n,
        issue_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        hs_code="120190",
        description="Soybeans, 400 t\nsecond line",
        status=Status.AWAITING_CONFIRMATION,
        priority=0,
        sequence=0,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def add(uows: SqlUnitOfWorkFactory, *invoices: Invoice) -> list[Invoice]:
    with uows() as uow:
        stored = uow.invoices.add_many(list(invoices), "key_test")
        uow.commit()
    return stored


# --- entities and participants --------------------------------------------------------------


def test_entities_round_trip_in_code_order(seeded: SqlUnitOfWorkFactory) -> None:
    with seeded() as uow:
        assert uow.entities.get("RU") == RU
        assert uow.entities.get("XX") is None
        assert uow.entities.list() == [CN, KZ, RU]


def test_adding_an_entity_twice_is_a_conflict(seeded: SqlUnitOfWorkFactory) -> None:
    with seeded() as uow, pytest.raises(Conflict):
        uow.entities.add(Entity("CN", "CNY", "again"))


def test_participants_round_trip_with_their_optional_fields(seeded: SqlUnitOfWorkFactory) -> None:
    with seeded() as uow:
        assert uow.participants.get("CN-A") == PARTICIPANTS[0]
        assert uow.participants.get("CN-B") == PARTICIPANTS[1]
        assert uow.participants.get("nobody") is None
        assert uow.participants.get("CN-\x00") is None


def test_many_participants_are_fetched_at_once_ignoring_unknown_ids(
    seeded: SqlUnitOfWorkFactory,
) -> None:
    with seeded() as uow:
        found = uow.participants.get_many(["RU-A", "CN-A", "RU-A", "nobody", "bad\x00"])
        assert found == {"RU-A": PARTICIPANTS[2], "CN-A": PARTICIPANTS[0]}
        assert uow.participants.get_many([]) == {}


def test_a_key_holding_the_list_separator_finds_nothing_else(seeded: SqlUnitOfWorkFactory) -> None:
    # Many keys go to PostgreSQL joined into one parameter by a control character; a key that
    # holds it must neither be found nor make another key answer in its place.
    add(seeded, invoice(1), invoice(2))
    with seeded() as uow:
        assert uow.participants.get_many(["RU-A\x1fCN-A"]) == {}
        assert uow.invoices.existing_numbers("CN-A", ["N-0001\x1fN-0002"]) == set()
        assert uow.invoices.existing_numbers("CN-A", ["N-0001\x1fX", "N-0002"]) == {"N-0002"}


def test_participants_are_listed_by_entity_and_paged_by_id(seeded: SqlUnitOfWorkFactory) -> None:
    with seeded() as uow:
        assert [p.id for p in uow.participants.list(None, None, 10)] == [
            "CN-A",
            "CN-B",
            "KZ-A",
            "RU-A",
        ]
        assert [p.id for p in uow.participants.list("CN", None, 10)] == ["CN-A", "CN-B"]
        assert [p.id for p in uow.participants.list(None, "CN-B", 2)] == ["KZ-A", "RU-A"]
        assert [p.id for p in uow.participants.list("CN", "CN-A", 1)] == ["CN-B"]


# --- API keys -------------------------------------------------------------------------------


def test_a_key_is_found_by_its_hash_until_revoked(seeded: SqlUnitOfWorkFactory) -> None:
    trader = Principal("key_t", Role.TRADER, "CN", "CN-A")
    with seeded() as uow:
        uow.api_keys.add(trader, "a" * 64, "ck_abc", "Heihe desk")
        uow.commit()
    with seeded() as uow:
        assert uow.api_keys.by_hash("a" * 64) == trader
        assert uow.api_keys.by_hash("b" * 64) is None
        uow.session.execute(update(ApiKeyRow).values(revoked_at=ApiKeyRow.created_at))
        uow.commit()
    with seeded() as uow:
        assert uow.api_keys.by_hash("a" * 64) is None


# --- invoices -------------------------------------------------------------------------------


def test_an_invoice_round_trips_every_field(seeded: SqlUnitOfWorkFactory) -> None:
    original = invoice(1, amount=123_456_789_012_34, outstanding=123_456_789_012_34)

    (stored,) = add(seeded, original)

    assert stored == replace(original, sequence=stored.sequence)
    with seeded() as uow:
        assert uow.invoices.get(original.id) == stored
        assert uow.invoices.get(original.id, for_update=True) == stored
        assert uow.invoices.get("inv_missing") is None
        assert uow.invoices.get("inv_\x00") is None


def test_a_rejected_invoice_keeps_its_rule_and_reason(seeded: SqlUnitOfWorkFactory) -> None:
    rejected = invoice(
        1,
        hs_code="9301",
        status=Status.REJECTED,
        priority=1,
        rejection=Rejection("blocked_goods:93", "HS code 9301 falls under blocked heading 93"),
    )

    (stored,) = add(seeded, rejected)

    with seeded() as uow:
        assert uow.invoices.get(rejected.id) == stored
        assert stored.rejection == rejected.rejection
        (event,) = uow.invoices.history(rejected.id)
    assert (event.from_status, event.to_status) == (None, "rejected")
    assert event.reason == rejected.rejection.reason  # type: ignore[union-attr]


def test_new_invoices_get_increasing_sequences_in_the_order_given(
    seeded: SqlUnitOfWorkFactory,
) -> None:
    first = add(seeded, invoice(3), invoice(1), invoice(2))
    second = add(seeded, invoice(4))

    sequences = [i.sequence for i in first + second]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == 4
    assert [i.id for i in first] == [invoice(3).id, invoice(1).id, invoice(2).id]


def test_adding_no_invoices_writes_nothing(seeded: SqlUnitOfWorkFactory) -> None:
    assert add(seeded) == []


def test_a_duplicate_invoice_number_is_a_conflict_and_rolls_back_the_batch(
    seeded: SqlUnitOfWorkFactory,
) -> None:
    add(seeded, invoice(1))

    with seeded() as uow, pytest.raises(Conflict) as raised:
        uow.invoices.add_many([invoice(2), invoice(3, invoice_number="N-0001")], "key")

    assert raised.value.field == "invoice_number"
    with seeded() as uow:
        assert uow.invoices.get(invoice(2).id) is None


def test_existing_numbers_are_found_per_exporter(seeded: SqlUnitOfWorkFactory) -> None:
    add(seeded, invoice(1), invoice(2), invoice(3, exporter="CN-B"))

    with seeded() as uow:
        taken = uow.invoices.existing_numbers("CN-A", ["N-0001", "N-0003", "N-0009"])
        assert taken == {"N-0001"}
        assert uow.invoices.existing_numbers("CN-B", ["N-0003"]) == {"N-0003"}
        assert uow.invoices.existing_numbers("CN-A", []) == set()


def test_saving_a_transition_updates_the_invoice_and_appends_to_its_history(
    seeded: SqlUnitOfWorkFactory,
) -> None:
    (stored,) = add(seeded, invoice(1))
    fields = {"amount": {"exporter": "1000.01", "importer": "999.00"}}
    disputed = replace(stored, status=Status.DISPUTED, dispute=Dispute(fields, "differs"))

    with seeded() as uow:
        uow.invoices.save(
            disputed,
            InvoiceEvent(
                stored.id, "awaiting_confirmation", "disputed", "key_i", "differs", fields
            ),
        )
        uow.commit()

    with seeded() as uow:
        assert uow.invoices.get(stored.id) == disputed
        events = uow.invoices.history(stored.id)
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "awaiting_confirmation"),
        ("awaiting_confirmation", "disputed"),
    ]
    assert events[1].details == fields
    assert events[1].actor == "key_i"
    assert all(e.at for e in events)


def test_a_dispute_is_dropped_once_the_invoice_leaves_the_disputed_state(
    seeded: SqlUnitOfWorkFactory,
) -> None:
    (stored,) = add(seeded, invoice(1))
    disputed = replace(stored, status=Status.DISPUTED, dispute=Dispute({}, "late"))
    eligible = replace(disputed, status=Status.ELIGIBLE, dispute=None)
    with seeded() as uow:
        uow.invoices.save(
            disputed, InvoiceEvent(stored.id, "awaiting_confirmation", "disputed", "k")
        )
        uow.invoices.save(eligible, InvoiceEvent(stored.id, "disputed", "eligible", "k"))
        uow.commit()

    with seeded() as uow:
        assert uow.invoices.get(stored.id) == eligible


def test_invoices_are_listed_by_visibility_filters_and_pages(
    seeded: SqlUnitOfWorkFactory,
) -> None:
    stored = add(
        seeded,
        invoice(1),
        invoice(2, status=Status.ELIGIBLE),
        invoice(3, exporter="KZ-A", importer="CN-B"),
        invoice(4, exporter="RU-A", importer="KZ-A", currency="RUB"),
        invoice(5, cycle_id="cyc_1", status=Status.IN_CYCLE),
    )
    ids = [i.id for i in stored]

    def listed(
        entity: str | None = None, participant_id: str | None = None, **criteria: object
    ) -> list[str]:
        unrestricted = entity is None and participant_id is None
        scope = Scope(entity=entity, participant_id=participant_id, everything=unrestricted)
        with seeded() as uow:
            found = uow.invoices.list(InvoiceFilter(**{"limit": 100, "scope": scope, **criteria}))  # type: ignore[arg-type]
        return [i.id for i in found]

    assert listed() == ids
    assert listed(limit=2) == ids[:2]
    assert listed(after_sequence=stored[2].sequence) == ids[3:]
    assert listed(status="eligible") == [ids[1]]
    assert listed(cycle_id="cyc_1") == [ids[4]]
    assert listed(cycle_id="cyc_\x00") == []
    assert listed(entity="KZ") == [ids[2], ids[3]]
    assert listed(entity="CN", status="awaiting_confirmation") == [ids[0], ids[2]]
    assert listed(participant_id="CN-B") == [ids[2]]
    assert listed(participant_id="RU-A", limit=2) == [ids[0], ids[1]]


# --- rules and idempotency records ----------------------------------------------------------


def test_rules_are_added_listed_and_removed(uows: SqlUnitOfWorkFactory) -> None:
    rule = Rule(RuleKind.BLOCKED_PARTY, "RU-A", "sanctions list")
    with uows() as uow:
        uow.rules.add(rule)
        uow.commit()

    with uows() as uow:
        assert rule in uow.rules.list()
        with pytest.raises(Conflict):
            uow.rules.add(rule)
    with uows() as uow:
        assert uow.rules.remove(rule) is True
        assert uow.rules.remove(rule) is False
        uow.commit()
    with uows() as uow:
        assert rule not in uow.rules.list()


def test_an_idempotency_record_keeps_the_first_answer_per_principal_and_key(
    uows: SqlUnitOfWorkFactory,
) -> None:
    answer = StoredAnswer("f" * 64, {"id": "inv_1", "amount": "1.00", "items": [1, 2]})
    with uows() as uow:
        uow.idempotency.lock("key_a", "k-1")
        assert uow.idempotency.get("key_a", "k-1") is None
        uow.idempotency.add("key_a", "k-1", answer)
        uow.commit()

    with uows() as uow:
        assert uow.idempotency.get("key_a", "k-1") == answer
        assert uow.idempotency.get("key_b", "k-1") is None
        assert uow.idempotency.get("key_a", "k-2") is None


def test_the_idempotency_lock_holds_a_second_transaction_until_the_first_ends(
    uows: SqlUnitOfWorkFactory,
) -> None:
    acquired: list[float] = []
    first_locked = threading.Event()

    def second() -> None:
        first_locked.wait(5)
        with uows() as uow:
            uow.idempotency.lock("key_a", "k-1")
            acquired.append(time.monotonic())

    thread = threading.Thread(target=second)
    thread.start()
    with uows() as uow:
        uow.idempotency.lock("key_a", "k-1")
        first_locked.set()
        time.sleep(0.3)
        released = time.monotonic()
    thread.join(10)

    assert len(acquired) == 1
    assert acquired[0] >= released
