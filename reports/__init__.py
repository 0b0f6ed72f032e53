"""Reports finance trusts and leaders learn from, read from the ledger and the domain.

Concepts
    *Period* - a calendar month of accounting dates, and the moment its reports are *as at*:
    now while the month is open, the close time once it is closed (``period``).
    *Movement* - posted money for a purchase dated in the month: a capture (with any flagged
    excess), a refund or a reversal; every report counts the same movements (``movements``).
    *Finding* - something reconciliation found: an *exception* finance must explain before
    the month closes, or a *note* (``reconciliation``).

Modules, one report each, named in finance's words
    ``reconciliation`` (findings, never exceptions raised; its checks in ``against_stripe``,
    ``ledger_checks`` and ``allocation_checks``, what they find in ``findings``), ``journal`` (the balanced
    general-ledger journal, configurable columns, Oracle GL_INTERFACE preset),
    ``transparency`` (the Transparency Code card-spend file, with ``redaction``),
    ``needs_outcomes`` (aggregates with small counts suppressed), ``pdf`` (the monthly pack;
    the only module that imports reportlab), ``close`` (period close), ``monthly`` (the five
    by name, for the CLI and the API). ``card_source`` is the seam to Stripe's own
    statement; ``vat`` and ``money`` are helpers.

Invariants
    Never a second source of truth; money in integer pence (charts alone draw floats);
    nothing about a family, a need or a key worker in a published file; counts under 5
    suppressed; rows stream, so memory stays flat as the month grows; a closed month's
    reports are the same bytes every time.
"""
