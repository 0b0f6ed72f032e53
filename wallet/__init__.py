"""The wallet domain: key workers' delegated budgets spent on families' identified needs.

Concepts (built on the ledger): the council's organisation (teams as cost centres, people
and their roles), funding sources, budgets allocated council → team → worker wallet,
pseudonymous families and their coded needs, purchases against those needs, receipts, and
the one spend policy every channel asks. Invariants: the ledger is the only source of
balances; a family is a random reference, never a name, address or date of birth.
Receipts' files live in a receipt store (``receipt_store``), keyed and checked by SHA-256; the
retention schedule (``retention``) erases or pseudonymises what is due without touching the
ledger, and a subject access export (``subject_access``) gathers what is held about a family.
"""
