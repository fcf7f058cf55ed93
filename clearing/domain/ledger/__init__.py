"""The ledger (DESIGN §5): the journal and its hash chain, a cycle's postings, and verification."""

from clearing.domain.ledger.journal import (
    GENESIS_HASH,
    SETTLEMENT_ACCOUNT,
    ChainedEntry,
    JournalEntry,
    Posting,
    balances,
    chain,
    entry_document,
    entry_from_document,
    entry_hash,
    json_line,
    mirror_account,
    participant_account,
    stored_document,
)
from clearing.domain.ledger.postings import cycle_entries, cycle_record, payment_entry, replay_cycle
from clearing.domain.ledger.verification import (
    Problem,
    VerificationReport,
    cycle_closure_problems,
    cycle_replay_problems,
    verify_chain,
    verify_journal,
)

__all__ = [
    "GENESIS_HASH",
    "SETTLEMENT_ACCOUNT",
    "ChainedEntry",
    "JournalEntry",
    "Posting",
    "Problem",
    "VerificationReport",
    "balances",
    "chain",
    "cycle_closure_problems",
    "cycle_entries",
    "cycle_record",
    "cycle_replay_problems",
    "entry_document",
    "entry_from_document",
    "entry_hash",
    "json_line",
    "mirror_account",
    "participant_account",
    "payment_entry",
    "replay_cycle",
    "stored_document",
    "verify_chain",
    "verify_journal",
]
