"""Ledger and purchases: less work for the database on every card decision, the same rules.

Profiled at the till (``perf`` sampling a PostgreSQL backend running ``card_decide_many``), an
approved decision spent about 14 % of its CPU re-reading CHECK constraints: PostgreSQL reads a
table's CHECK expressions from the catalogue and plans them again for every statement that
writes the table, and a decision writes six tables one row at a time. The lists of known
kinds and statuses were the longest of them (``kind IN ('allocation', 'hold', …)`` is kept as an
array built of one cast constant per value, folded again each time); written as one constant
array (``kind::text = ANY ('{allocation,hold,…}'::text[])``) the same rule is a third of the
size and needs no folding. And about 13 % went to index entries, three of them on columns that
are empty on nearly every row (a transfer's ``pending_id``, ``refund_of_id`` and ``reverses_id``)
and one on a card purchase's family, unknown when the card is used: these indexes now hold
only the rows that have a value, which are the only rows they are ever searched for
(``= value`` implies not null, so every query that used them still can).

``card_decide`` (stated whole below; otherwise as migration 0010 made it) reads what it needs
to know in one statement instead of four: the answer if the event was answered before, the
policy version in force, the card's wallet and team, and the authorization if seen. Each
statement in a function costs the executor's start and end whatever it reads; the checks are
made in the same order on the same facts, now all as of one moment after the event's lock.

The CHECK rules are read from the database and rewritten, not restated, so a value another
migration added to a list is kept. Down, each list is put back in the form it had and the
indexes cover every row again.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tables a card decision writes: their CHECK lists are rewritten.
TABLES = ("ledger_accounts", "ledger_operations", "ledger_transfers", "purchases", "card_authorizations")
#: (index, table, columns, the column that is mostly empty)
PARTIAL = (
    ("ix_ledger_transfers_pending_id", "ledger_transfers", ["pending_id"], "pending_id"),
    ("ix_ledger_transfers_refund_of_id", "ledger_transfers", ["refund_of_id"], "refund_of_id"),
    ("ix_ledger_transfers_reverses_id", "ledger_transfers", ["reverses_id"], "reverses_id"),
    ("ix_purchases_family_created", "purchases", ["family_id", "created_at"], "family_id"),
)

#: ``card_decide``, whole.
CARD_DECIDE = """
CREATE OR REPLACE FUNCTION card_decide(
    p card_decide_call, OUT approved boolean, OUT granted bigint, OUT reasons text[], OUT replayed boolean
) LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    v_found record;
    v_refusal text;
    v_outcome text;
    v_hold text;
    v_purchase bigint;
    v_available bigint;
BEGIN
    replayed := false;
    -- The claim: one request per event id at a time (a duplicate waits here for the first to
    -- commit, then finds its answer); the answer's row is written once, at the end.
    PERFORM pg_advisory_xact_lock(7041947, hashtext(p.event));
    -- What the decision needs to know, read in one statement: the answer if this event was
    -- answered before, the policy version in force, the card's wallet and team, and the
    -- authorization if Tide has seen it (no card: the card's columns are null).
    SELECT d.event_id AS answered_event, d.approved AS answered, d.amount AS answered_amount, d.reasons AS answered_reasons,
           (SELECT id FROM policy_versions ORDER BY id DESC LIMIT 1) AS newest,
           c.id AS card_id, c.status AS card_status, w.id AS wallet_id, w.status AS wallet_status,
           w.person_id, w.team_id, w.account_id, t.default_funding_source_id AS funding,
           (SELECT a.status FROM card_authorizations a WHERE a.stripe_id = p.authorization_id) AS existing
        INTO v_found
        FROM (SELECT 1) one
        LEFT JOIN card_decisions d ON d.event_id = p.event
        LEFT JOIN (cards c JOIN wallets w ON w.id = c.wallet_id JOIN teams t ON t.id = w.team_id)
            ON c.stripe_id = p.card;
    IF v_found.answered_event IS NOT NULL THEN
        approved := v_found.answered;
        granted := v_found.answered_amount;
        reasons := ARRAY(SELECT json_array_elements_text(v_found.answered_reasons));
        replayed := true;
        RETURN;
    END IF;

    IF v_found.newest IS DISTINCT FROM p.policy THEN
        RAISE EXCEPTION 'the spend policy changed' USING ERRCODE = 'TD001', HINT = 'policy';
    END IF;

    IF v_found.card_id IS NULL THEN
        approved := false; granted := 0; reasons := ARRAY['unknown_card'];
        INSERT INTO card_decisions (event_id, authorization_stripe_id, source, decided, approved, amount, reasons,
                                    hold_transfer_id, settled, created_at)
            VALUES (p.event, p.authorization_id, 'request', true, approved, granted, to_json(reasons),
                    CASE WHEN approved THEN v_hold END, false, p.now)
            ON CONFLICT (event_id) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'answered meanwhile' USING ERRCODE = 'TD001', HINT = 'answered';
        END IF;
        RETURN;
    END IF;
    IF v_found.person_id IS DISTINCT FROM p.worker OR v_found.team_id IS DISTINCT FROM p.team THEN
        RAISE EXCEPTION 'the card''s wallet is not the one assumed' USING ERRCODE = 'TD001', HINT = 'wallet';
    END IF;

    IF v_found.existing IS NOT NULL THEN
        IF v_found.existing <> 'pending' THEN
            -- Stripe has already closed it (it stopped waiting for this answer): hold nothing.
            approved := false; granted := 0; reasons := ARRAY['authorization_already_final'];
            INSERT INTO card_decisions (event_id, authorization_stripe_id, source, decided, approved, amount, reasons,
                                        hold_transfer_id, settled, created_at)
                VALUES (p.event, p.authorization_id, 'request', true, approved, granted, to_json(reasons),
                        CASE WHEN approved THEN v_hold END, false, p.now)
                ON CONFLICT (event_id) DO NOTHING;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'answered meanwhile' USING ERRCODE = 'TD001', HINT = 'answered';
            END IF;
            RETURN;
        END IF;
        RAISE EXCEPTION 'an incremental authorization' USING ERRCODE = 'TD001', HINT = 'increment';
    END IF;

    v_refusal := CASE
        WHEN v_found.card_status <> 'active' THEN 'card_not_active'
        WHEN v_found.wallet_status <> 'active' THEN 'wallet_suspended'
        WHEN p.currency <> 'gbp' THEN 'currency_not_gbp'
        WHEN p.requested <= 0 THEN 'no_amount_requested'
        WHEN p.category IS NULL THEN 'merchant_category_not_allowed'
        WHEN v_found.funding IS NULL THEN 'no_funding_source'
    END;
    IF v_refusal IS NOT NULL THEN
        approved := false; granted := 0; reasons := ARRAY[v_refusal];
        INSERT INTO card_authorizations (stripe_id, card_id, wallet_id, purchase_id, status, approved, amount,
                                         requested_amount, currency, merchant_name, merchant_category, category,
                                         stripe_seen, created_at, updated_at)
            VALUES (p.authorization_id, v_found.card_id, v_found.wallet_id, NULL, 'pending', false, 0,
                    greatest(p.requested, 0), coalesce(nullif(left(p.currency, 3), ''), 'gbp'), left(p.merchant, 200),
                    left(p.slug, 80), coalesce(p.category, ''), 0, p.now, p.now)
            ON CONFLICT (stripe_id) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'an incremental authorization' USING ERRCODE = 'TD001', HINT = 'increment';
        END IF;
        INSERT INTO card_decisions (event_id, authorization_stripe_id, source, decided, approved, amount, reasons,
                                    hold_transfer_id, settled, created_at)
            VALUES (p.event, p.authorization_id, 'request', true, approved, granted, to_json(reasons),
                    CASE WHEN approved THEN v_hold END, false, p.now)
            ON CONFLICT (event_id) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'answered meanwhile' USING ERRCODE = 'TD001', HINT = 'answered';
        END IF;
        RETURN;
    END IF;
    IF p.decision NOT IN ('allow', 'deny') THEN
        RAISE EXCEPTION 'the policy wants an approval' USING ERRCODE = 'TD001', HINT = 'approval';
    END IF;

    reasons := p.reasons;
    approved := false;
    IF p.decision = 'allow' THEN
        v_hold := 'card:' || p.event || ':' || 'hold';  -- (no colon before a word: Alembic would bind it)
        v_outcome := ledger_place_hold(v_hold, v_found.account_id, p.clearing, p.requested, p.expires, p.memo,
                                       p.hold_hash, p.accounting_date, p.now, p.ledger);
        IF v_outcome = 'applied' THEN
            approved := true;
        ELSIF v_outcome = 'insufficient_funds' THEN
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
        ELSE
            RAISE EXCEPTION USING ERRCODE = 'TD001', HINT = 'hold', MESSAGE = 'the hold answered ' || v_outcome;
        END IF;
    END IF;
    granted := CASE WHEN approved THEN p.requested ELSE 0 END;

    INSERT INTO purchases (family_id, wallet_id, team_id, worker_id, funding_source_id, category, description,
                           supplier, amount, vat_evidence, payment_method, status, policy_decision, policy_reasons,
                           receipt_required, hold_transfer_id, captured_amount, refunded_amount, created_at,
                           updated_at)
        VALUES (NULL, v_found.wallet_id, v_found.team_id, v_found.person_id, v_found.funding, p.category,
                p.description, left(p.merchant, 120), p.requested, 'no_vat_evidence', 'card',
                CASE WHEN approved THEN 'held' ELSE 'declined' END, p.decision, to_json(reasons), p.receipt,
                CASE WHEN approved THEN v_hold END, 0, 0, p.now, p.now)
        RETURNING id INTO v_purchase;
    INSERT INTO card_authorizations (stripe_id, card_id, wallet_id, purchase_id, status, approved, amount,
                                     requested_amount, currency, merchant_name, merchant_category, category,
                                     stripe_seen, created_at, updated_at)
        VALUES (p.authorization_id, v_found.card_id, v_found.wallet_id, v_purchase, 'pending', approved, 0,
                p.requested, p.currency, left(p.merchant, 200), left(p.slug, 80), p.category, 0, p.now, p.now)
        ON CONFLICT (stripe_id) DO NOTHING;
    IF NOT FOUND THEN  -- another request for this authorization got here first: an increment
        RAISE EXCEPTION 'an incremental authorization' USING ERRCODE = 'TD001', HINT = 'increment';
    END IF;
    INSERT INTO audit_log (at, actor_id, action, subject_type, subject_id, request_id, details)
        VALUES (p.now, NULL, CASE WHEN approved THEN 'card.authorization.approved'
                                  ELSE 'card.authorization.declined' END,
                'purchase', v_purchase::text, NULL,
                json_build_object('authorization', p.authorization_id, 'event', p.event, 'amount', p.requested,
                                  'reasons', to_json(reasons)));
    INSERT INTO card_decisions (event_id, authorization_stripe_id, source, decided, approved, amount, reasons,
                                hold_transfer_id, settled, created_at)
        VALUES (p.event, p.authorization_id, 'request', true, approved, granted, to_json(reasons),
                CASE WHEN approved THEN v_hold END, false, p.now)
        ON CONFLICT (event_id) DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'answered meanwhile' USING ERRCODE = 'TD001', HINT = 'answered';
    END IF;
END $$
"""

#: A list as PostgreSQL keeps ``col IN ('a', 'b')`` on a varchar column.
_AS_CASTS = re.compile(r"\(ARRAY\[((?:'[^']*'::character varying(?:, )?)+)\]\)::text\[\]")
#: The same list as one constant array.
_AS_ONE = re.compile(r"'\{([^}']*)\}'::text\[\]")


def _one_constant(definition: str) -> str:
    return _AS_CASTS.sub(lambda m: "'{" + ",".join(re.findall(r"'([^']*)'", m.group(1))) + "}'::text[]", definition)


def _casts(definition: str) -> str:
    def back(match: re.Match[str]) -> str:
        values = ", ".join(f"'{value}'::character varying" for value in match.group(1).split(","))
        return f"(ARRAY[{values}])::text[]"

    return _AS_ONE.sub(back, definition)


def _rewrite_checks(rewrite: Callable[[str], str]) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'c' AND conrelid::regclass::text = ANY(:tables) ORDER BY 1, 2"
        ),
        {"tables": list(TABLES)},
    ).all()
    for table, name, definition in rows:
        changed = rewrite(definition)
        if changed != definition:
            op.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}", ADD CONSTRAINT "{name}" {changed}')


def _indexes(*, partial: bool) -> None:
    for name, table, columns, column in PARTIAL:
        op.drop_index(name, table_name=table)
        where = sa.text(f"{column} IS NOT NULL") if partial else None
        op.create_index(name, table, columns, unique=False, postgresql_where=where, sqlite_where=where)


def _earlier(filename: str, name: str) -> str:
    """``name`` as an earlier migration states it (migrations are history: read, never edited)."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"tide_migration_{filename[:4]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(getattr(module, name))


def upgrade() -> None:
    _indexes(partial=True)
    if op.get_bind().dialect.name == "postgresql":
        _rewrite_checks(_one_constant)
        op.execute(CARD_DECIDE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        before = _earlier("0010_card_decide_call.py", "CARD_DECIDE")
        op.execute(before.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
        _rewrite_checks(_casts)
    _indexes(partial=False)
