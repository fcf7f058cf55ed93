"""The contract of the repositories of parties, keys, rules, idempotent answers and invoices."""

from __future__ import annotations

from dataclasses import replace

import pytest

from clearing.domain.access import Principal, Role, Scope
from clearing.domain.compliance import Rule, RuleKind, default_rules
from clearing.domain.errors import Conflict
from clearing.domain.idempotency import StoredAnswer
from clearing.domain.invoices import Dispute, InvoiceEvent, InvoiceFilter, Status
from clearing.domain.parties import Entity
from clearing.use_cases.ports import UnitOfWorkFactory
from tests.port_contract.data import (
    CN,
    KZ,
    PARTICIPANTS,
    RU,
    add,
    invoice,
    seed,
)


class RecordContract:
    """What the use cases rely on from the repositories of records."""

    # --- parties, keys, rules, idempotency ----------------------------------------------------

    def test_entities_are_listed_by_code_and_a_second_with_one_code_is_a_conflict(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        with contract_uows() as uow:
            assert uow.entities.list() == [CN, KZ, RU]
            assert uow.entities.get("MN2") is None
            with pytest.raises(Conflict) as refused:
                uow.entities.add(Entity("CN", "CNY", "again"))
        assert refused.value.field == "code"

    def test_an_entity_keeps_its_approvals_bank_and_account_and_changes_them(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        with contract_uows() as uow:
            uow.entities.add(Entity("MN", "MNT", "Mongolia clearing", 2, "012345678901", "ACC-1"))
            changed = replace(CN, approvals_required=2, bank_code="BKCHCNBJ", account="6217-01")
            uow.entities.save(changed)
            # Saving an entity that was never added adds nothing (an UPDATE of no row).
            uow.entities.save(Entity("MN2", "MNT", "Never added"))
            uow.commit()

        with contract_uows() as uow:
            assert uow.entities.get("CN") == changed
            assert uow.entities.get("MN") == Entity(
                "MN", "MNT", "Mongolia clearing", 2, "012345678901", "ACC-1"
            )
            assert uow.entities.get("RU") == RU
            assert uow.entities.get("MN2") is None

    def test_participants_are_found_listed_by_id_filtered_by_entity_and_paged(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        with contract_uows() as uow:
            assert uow.participants.get("heihe") == PARTICIPANTS[0]
            assert uow.participants.get("nobody") is None
            found = uow.participants.get_many(["amur", "heihe", "amur", "nobody"])
            assert found == {"amur": PARTICIPANTS[2], "heihe": PARTICIPANTS[0]}
            assert uow.participants.get_many([]) == {}
            listed = [p.id for p in uow.participants.list(None, None, 10)]
            assert listed == ["amur", "astana", "heihe", "suifenhe"]
            assert [p.id for p in uow.participants.list("CN", None, 10)] == ["heihe", "suifenhe"]
            assert [p.id for p in uow.participants.list(None, "astana", 2)] == ["heihe", "suifenhe"]
            assert [p.id for p in uow.participants.list("CN", "heihe", 1)] == ["suifenhe"]

    def test_a_key_finds_its_principal_by_its_hash_alone(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        trader = Principal("key_t", Role.TRADER, "CN", "heihe")
        with contract_uows() as uow:
            uow.api_keys.add(trader, "a" * 64, "ck_abc", "Heihe desk")
            uow.commit()
        with contract_uows() as uow:
            assert uow.api_keys.by_hash("a" * 64) == trader
            assert uow.api_keys.by_hash("b" * 64) is None

    def test_keys_are_listed_by_id_and_a_revoked_key_finds_no_principal(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        operator = Principal("key_o", Role.OPERATOR, "RU")
        auditor = Principal("key_a", Role.AUDITOR)
        with contract_uows() as uow:
            uow.api_keys.add(operator, "o" * 64, "ck_ooo", "Blagoveshchensk desk")
            uow.api_keys.add(auditor, "a" * 64, "ck_aaa", "")
            uow.commit()

        with contract_uows() as uow:
            listed = uow.api_keys.list(None, 10)
            revoked = uow.api_keys.revoke("key_o")
            assert uow.api_keys.revoke("key_nobody") is None
            uow.commit()
        with contract_uows() as uow:
            again = uow.api_keys.revoke("key_o")
            uow.commit()

        assert [(k.principal, k.prefix, k.label) for k in listed] == [
            (auditor, "ck_aaa", ""),
            (operator, "ck_ooo", "Blagoveshchensk desk"),
        ]
        assert all(k.revoked_at is None for k in listed)
        assert revoked is not None
        assert revoked.revoked_at is not None
        assert again is not None
        assert again.revoked_at == revoked.revoked_at
        with contract_uows() as uow:
            assert uow.api_keys.by_hash("o" * 64) is None
            assert uow.api_keys.by_hash("a" * 64) == auditor
            assert [k.principal.id for k in uow.api_keys.list("key_a", 10)] == ["key_o"]
            assert [k.principal.id for k in uow.api_keys.list(None, 1)] == ["key_a"]

    def test_rules_are_listed_by_kind_and_value_and_a_second_alike_is_a_conflict(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        rule = Rule(RuleKind.BLOCKED_PARTY, "amur", "sanctions list")
        with contract_uows() as uow:
            uow.rules.add(rule)
            uow.commit()
        with contract_uows() as uow:
            listed = uow.rules.list()
            assert listed == sorted([*default_rules(), rule], key=lambda r: (r.kind, r.value))
            with pytest.raises(Conflict) as refused:
                uow.rules.add(rule)
        assert refused.value.field == "value"
        with contract_uows() as uow:
            assert uow.rules.remove(rule) is True
            assert uow.rules.remove(rule) is False
            uow.commit()
        with contract_uows() as uow:
            assert rule not in uow.rules.list()

    def test_an_idempotent_answer_is_kept_as_json_per_principal_and_key(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        answer = StoredAnswer("f" * 64, {"id": "inv_1", "amount": "1.00", "items": (1, 2)})
        with contract_uows() as uow:
            uow.idempotency.lock("key_a", "k-1")
            assert uow.idempotency.get("key_a", "k-1") is None
            uow.idempotency.add("key_a", "k-1", answer)
            uow.commit()

        with contract_uows() as uow:
            stored = uow.idempotency.get("key_a", "k-1")
            assert stored == StoredAnswer(
                "f" * 64, {"id": "inv_1", "amount": "1.00", "items": [1, 2]}
            )
            assert uow.idempotency.get("key_b", "k-1") is None
            assert uow.idempotency.get("key_a", "k-2") is None

    # --- invoices -----------------------------------------------------------------------------

    def test_new_invoices_get_increasing_sequences_that_a_rollback_does_not_give_back(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        first = add(contract_uows, invoice(3), invoice(1))
        with contract_uows() as uow:
            (dropped,) = uow.invoices.add_many([invoice(2)], "key_test")
        (second,) = add(contract_uows, invoice(2))

        assert [i.id for i in first] == [invoice(3).id, invoice(1).id]
        assert first[0].sequence < first[1].sequence < dropped.sequence < second.sequence
        assert add(contract_uows) == []

    def test_a_duplicate_invoice_number_is_a_conflict_and_stores_none_of_its_batch(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        add(contract_uows, invoice(1))

        with contract_uows() as uow, pytest.raises(Conflict) as refused:
            uow.invoices.add_many([invoice(2), invoice(3, invoice_number="N-0001")], "key")

        assert refused.value.field == "invoice_number"
        with contract_uows() as uow:
            assert uow.invoices.get(invoice(2).id) is None
            assert uow.invoices.existing_numbers("heihe", ["N-0001", "N-0002"]) == {"N-0001"}
            assert uow.invoices.existing_numbers("suifenhe", ["N-0001"]) == set()

    def test_invoices_are_listed_by_sequence_within_the_scope_filters_and_page(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        stored = add(
            contract_uows,
            invoice(1, status=Status.AWAITING_CONFIRMATION),
            invoice(2),
            invoice(3, exporter="astana", importer="suifenhe", status=Status.AWAITING_CONFIRMATION),
            invoice(4, exporter="amur", importer="astana", currency="RUB"),
            invoice(5, cycle_id="cyc_1", status=Status.IN_CYCLE),
        )
        ids = [i.id for i in stored]

        def listed(scope: Scope = Scope(everything=True), **criteria: object) -> list[str]:
            with contract_uows() as uow:
                filters = InvoiceFilter(**{"limit": 100, "scope": scope, **criteria})  # type: ignore[arg-type]
                return [i.id for i in uow.invoices.list(filters)]

        assert listed() == ids
        assert listed(limit=2) == ids[:2]
        assert listed(after_sequence=stored[2].sequence) == ids[3:]
        assert listed(status="eligible") == [ids[1], ids[3]]
        assert listed(cycle_id="cyc_1") == [ids[4]]
        assert listed(Scope(entity="KZ")) == [ids[2], ids[3]]
        assert listed(Scope(entity="CN"), status="awaiting_confirmation") == [ids[0], ids[2]]
        assert listed(Scope(participant_id="suifenhe")) == [ids[2]]
        assert listed(Scope(participant_id="amur"), limit=2) == [ids[0], ids[1]]
        assert listed(Scope()) == []

    def test_a_saved_transition_keeps_the_sequence_and_extends_the_history_in_order(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        (stored,) = add(contract_uows, invoice(1, status=Status.AWAITING_CONFIRMATION))
        fields = {"amount": {"exporter": "1000.01", "importer": "999.00"}}
        disputed = replace(
            stored, status=Status.DISPUTED, dispute=Dispute(fields, "differs"), sequence=10**9
        )
        with contract_uows() as uow:
            uow.invoices.save(
                disputed,
                InvoiceEvent(
                    stored.id, "awaiting_confirmation", "disputed", "key_i", "differs", fields
                ),
            )
            uow.invoices.add_events([InvoiceEvent(stored.id, "disputed", "disputed", "key_x")])
            uow.commit()

        with contract_uows() as uow:
            assert uow.invoices.get(stored.id) == replace(disputed, sequence=stored.sequence)
            events = uow.invoices.history(stored.id)
            assert uow.invoices.history("inv_missing") == []
        assert [(e.from_status, e.to_status, e.actor) for e in events] == [
            (None, "awaiting_confirmation", "key_test"),
            ("awaiting_confirmation", "disputed", "key_i"),
            ("disputed", "disputed", "key_x"),
        ]
        assert events[1].details == fields
        assert all(e.at for e in events)

    def test_a_dispute_is_kept_only_while_the_invoice_is_disputed(
        self, contract_uows: UnitOfWorkFactory
    ) -> None:
        seed(contract_uows)
        (stored,) = add(contract_uows, invoice(1, status=Status.AWAITING_CONFIRMATION))
        disputed = replace(stored, status=Status.DISPUTED, dispute=Dispute({}, "late"))
        cancelled = replace(disputed, status=Status.CANCELLED)
        with contract_uows() as uow:
            uow.invoices.save(
                disputed, InvoiceEvent(stored.id, "awaiting_confirmation", "disputed", "k")
            )
            assert uow.invoices.get(stored.id) == disputed
            uow.invoices.save(cancelled, InvoiceEvent(stored.id, "disputed", "cancelled", "k"))
            uow.commit()

        with contract_uows() as uow:
            assert uow.invoices.get(stored.id) == replace(cancelled, dispute=None)
