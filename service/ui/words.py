"""The words the pages show for the engine's enumerations (statuses, roles, policies, line
actions), marked for the catalogues: a template shows ``status | word`` in the reader's language.

Every member of those enumerations has its word; a test keeps it so when one is added.
"""

from __future__ import annotations

from service.ui.i18n import N_

WORDS: dict[str, str] = {
    # invoices
    "awaiting_confirmation": N_("awaiting confirmation"),
    "eligible": N_("eligible"),
    "in_cycle": N_("in a cycle"),
    "disputed": N_("disputed"),
    "cancelled": N_("cancelled"),
    "released": N_("released"),
    # invoices and cycles
    "settled": N_("settled"),
    "rejected": N_("rejected"),
    # cycles
    "open": N_("open"),
    "proposed": N_("proposed"),
    "approved": N_("approved"),
    "settling": N_("settling"),
    "superseded": N_("superseded"),
    # roles
    "trader": N_("trader"),
    "operator": N_("operator"),
    "auditor": N_("auditor"),
    "admin": N_("admin"),
    # policies
    "fifo": N_("fifo"),
    "pro_rata": N_("pro rata"),
    "setoff": N_("set-off"),
    # lines
    "pending": N_("pending"),
    "active": N_("active"),
    "confirmed": N_("confirmed"),
    "limit_proposed": N_("new limit proposed"),
    "limit_confirmed": N_("new limit confirmed"),
    # bank statement lines (``confirmed`` above)
    "matched": N_("matched"),
    "suspense": N_("in suspense"),
    "assigned": N_("assigned"),
    "returned": N_("returned"),
    "unmatched": N_("unmatched"),
    "duplicate": N_("imported before"),
    "credit": N_("credit"),
    "debit": N_("debit"),
    # what a cycle's payment is for
    "pay_in": N_("pay-in"),
    "pay_out": N_("pay-out"),
    "refund": N_("refund"),
    "return": N_("return"),
    # what a journal entry books (``pay_in``, ``pay_out``, ``refund``, ``suspense`` above)
    "discharge": N_("discharge"),
    "line": N_("line flow"),
    "suspense_return": N_("returned from suspense"),
    "suspense_matched": N_("suspense matched to a pay-in"),
}
