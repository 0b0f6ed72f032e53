"""Reports finance trusts and leaders learn from, read from the ledger and the domain.

Concepts (to come): monthly reconciliation against the card processor, the general-ledger
journal, the Transparency Code card-spend file, needs and outcomes, the PDF monthly pack,
period close. Invariants: never a second source of truth; nothing personal in a published
report; a closed month's reports are reproducible byte for byte.
"""
