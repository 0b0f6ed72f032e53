"""The till: on one busy wallet, the wallet's row is locked by the last statement before commit.

A card decision that approves moves the wallet's counter (the conditional ``UPDATE`` that keeps
its limit) and writes seven rows: the hold's operation and transfer (and its open-hold entry),
the purchase, the authorization, the audit entry and the answer. ``card_decide`` (as 0023
states it) moved the counter first, through ``ledger_place_hold``, and wrote the rows while
holding the wallet's row lock, so every other decision for that wallet waited for all seven
inserts, their foreign-key checks and triggers, and the commit. Now it writes the rows an
approval needs first and moves the counter last: the lock is held for one ``UPDATE`` and the
commit, as the bare till holds it. If the wallet has not the money, the counter is not moved
(no lock is taken: the conditional ``UPDATE`` finds no row), the rows written so far are rolled
back to the block's savepoint and the decline is written instead, exactly as before: the
hold's operation kept as ``insufficient_funds``, the purchase ``declined``, the answer recorded.
Every other step, check and row is as 0023 made it (the text below is 0023's function with the
approval's steps rewritten, read from that migration, not copied).

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _earlier(filename: str, name: str) -> str:
    """``name`` as an earlier migration states it (migrations are history: read, never edited)."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"tide_migration_{filename[:4]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(getattr(module, name))


_CARD_DECIDE_0023 = _earlier("0023_card_pots.py", "CARD_DECIDE")

#: From here to the function's end, 0020 placed the hold and then wrote the rows.
_APPROVAL_THEN_ROWS = """    reasons := p.reasons;
    approved := false;
    IF p.decision = 'allow' THEN
"""
#: The rows, written once in either order: after the approval's hold (and before its counter)
#: or for a decline. SQLSTATE TD002 is this function's own: "the wallet has not the money".
_LOCK_LAST = """    reasons := p.reasons;
    approved := p.decision = 'allow';
    IF approved THEN
        v_hold := 'card:' || p.event || ':' || 'hold';  -- (no colon before a word: Alembic would bind it)
    END IF;
    <<decide>>
    LOOP  -- twice at most: as an approval (its counter moved last), then, without the money, as a decline
        BEGIN
            IF approved THEN
                -- The hold's claim and transfer, as ledger_place_hold writes them.
                INSERT INTO ledger_operations (id, kind, request_hash, outcome, recorded_at)
                    VALUES (v_hold, 'hold', p.hold_hash, 'applied', p.now) ON CONFLICT (id) DO NOTHING;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'the hold was claimed before' USING ERRCODE = 'TD001', HINT = 'hold';
                END IF;
                INSERT INTO ledger_transfers (id, operation_id, ledger, kind, debit_account_id, credit_account_id,
                                              amount, expires_at, flagged, accounting_date, recorded_at, memo)
                    VALUES (v_hold, v_hold, p.ledger, 'hold', v_found.account_id, p.clearing, p.requested, p.expires,
                            false, p.accounting_date, p.now, p.memo);
            END IF;
            granted := CASE WHEN approved THEN p.requested ELSE 0 END;
ROWS
            IF approved THEN
                -- Last: the wallet's counter, kept within its limit. Its row stays locked until
                -- the commit; nothing else is written after it.
                PERFORM pg_advisory_xact_lock(7041946, (v_found.account_id % 2147483647)::integer);
                UPDATE ledger_accounts SET debits_pending = debits_pending + p.requested
                    WHERE id = v_found.account_id
                      AND (NOT debits_must_not_exceed_credits
                           OR debits_pending + debits_posted + p.requested <= credits_posted);
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'TD002';
                END IF;
            END IF;
            EXIT decide;
        EXCEPTION WHEN SQLSTATE 'TD002' THEN
            -- Rolled back to the block's start: decided again as a decline for want of money.
            INSERT INTO ledger_operations (id, kind, request_hash, outcome, recorded_at)
                VALUES (v_hold, 'hold', p.hold_hash, 'insufficient_funds', p.now) ON CONFLICT (id) DO NOTHING;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'the hold was claimed meanwhile' USING ERRCODE = 'TD001', HINT = 'hold';
            END IF;
            IF p.allow_partial AND p.controllable THEN
                SELECT credits_posted - debits_posted - debits_pending INTO v_available
                    FROM ledger_accounts WHERE id = v_found.account_id;
                IF v_available > 0 THEN
                    RAISE EXCEPTION 'a partial approval' USING ERRCODE = 'TD001', HINT = 'partial';
                END IF;
            END IF;
            approved := false;
            reasons := reasons || ARRAY['insufficient_funds'];
            v_hold := NULL;
        END;
    END LOOP;
END $$
"""


def _rows(text: str) -> str:
    """0020's rows (purchase, authorization, audit entry, answer), indented into the block."""
    start = text.index("    INSERT INTO purchases (family_id")
    end = text.index("END $$", start)
    return "\n".join(("        " + line) if line else line for line in text[start:end].rstrip("\n").split("\n"))


assert _CARD_DECIDE_0023.count(_APPROVAL_THEN_ROWS) == 1
CARD_DECIDE = _CARD_DECIDE_0023[: _CARD_DECIDE_0023.index(_APPROVAL_THEN_ROWS)] + _LOCK_LAST.replace(
    "ROWS", _rows(_CARD_DECIDE_0023), 1
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CARD_DECIDE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_CARD_DECIDE_0023)
