"""Cards: ``card_decide`` takes one argument, a ``card_decide_call``, instead of twenty-four.

Its arguments were a positional list kept in step by hand in three places: the function's
signature (migration 0008), the Python call's ``$1`` … ``$24`` and the order of a dict in
``cards/fast_till.py``, and the JSON keys ``card_decide_many`` unpacked one by one (migration
0009). Now they are the fields of the composite type ``card_decide_call``, stated here as made
and in Python once (``cards.till_call.DecideCall``, their names and SQL types, from which the
call's text and the JSON a batch is sent as are made; a test holds the two equal).
``card_decide`` reads its facts as ``p.<field>``, and is otherwise as 0008 made it: the same
steps, the same answers, the same rows. ``card_decide_many`` reads a queue's JSON into the type
with ``jsonb_populate_recordset`` and passes each row on whole.

Each function is stated whole below. Down, the two functions are put back as migrations 0008
and 0009 stated them (read from those migrations, not copied), and the type is dropped.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: ``card_decide``'s arguments as migration 0008 made them.
SIGNATURE_0008 = (
    "text, text, text, bigint, text, text, text, text, text, timestamptz, bigint, bigint, bigint, text, text[],"
    " boolean, boolean, boolean, bigint, text, date, timestamptz, text, text"
)

#: What the till knows when it asks (``cards.till_call.DecideCall``, field for field).
CARD_DECIDE_CALL = """
CREATE TYPE card_decide_call AS (
    event text,
    authorization_id text,
    card text,
    requested bigint,
    currency text,
    category text,
    merchant text,
    slug text,
    description text,
    now timestamptz,
    policy bigint,
    worker bigint,
    team bigint,
    decision text,
    reasons text[],
    receipt boolean,
    allow_partial boolean,
    controllable boolean,
    clearing bigint,
    hold_hash text,
    accounting_date date,
    expires timestamptz,
    ledger text,
    memo text
)
"""

#: ``card_decide``, whole: as migration 0008 made it, reading its facts from ``p``.
CARD_DECIDE = """
CREATE FUNCTION card_decide(
    p card_decide_call, OUT approved boolean, OUT granted bigint, OUT reasons text[], OUT replayed boolean
) LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    v_newest bigint;
    v_found record;
    v_existing text;
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
    SELECT d.approved, d.amount, ARRAY(SELECT json_array_elements_text(d.reasons))
        INTO approved, granted, reasons
        FROM card_decisions d WHERE d.event_id = p.event;
    IF FOUND THEN
        replayed := true;
        RETURN;
    END IF;

    SELECT id INTO v_newest FROM policy_versions ORDER BY id DESC LIMIT 1;
    IF v_newest IS DISTINCT FROM p.policy THEN
        RAISE EXCEPTION 'the spend policy changed' USING ERRCODE = 'TD001', HINT = 'policy';
    END IF;

    SELECT c.id AS card_id, c.status AS card_status, w.id AS wallet_id, w.status AS wallet_status,
           w.person_id, w.team_id, w.account_id, t.default_funding_source_id AS funding
        INTO v_found
        FROM cards c JOIN wallets w ON w.id = c.wallet_id JOIN teams t ON t.id = w.team_id
        WHERE c.stripe_id = p.card;
    IF NOT FOUND THEN
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

    SELECT status INTO v_existing FROM card_authorizations WHERE stripe_id = p.authorization_id;
    IF FOUND THEN
        IF v_existing <> 'pending' THEN
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

#: ``card_decide_many``, whole: each call of the queue read into ``card_decide_call`` by name.
CARD_DECIDE_MANY = """
CREATE OR REPLACE FUNCTION card_decide_many(p_calls jsonb)
RETURNS TABLE (n integer, approved boolean, granted bigint, reasons text[], replayed boolean, handover text)
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    c card_decide_call;
    i integer := 0;
BEGIN
    FOR c IN SELECT * FROM jsonb_populate_recordset(NULL::card_decide_call, p_calls) LOOP
        i := i + 1;
        n := i;
        handover := NULL;
        BEGIN
            SELECT d.approved, d.granted, d.reasons, d.replayed INTO approved, granted, reasons, replayed
                FROM card_decide(c) d;
        EXCEPTION WHEN SQLSTATE 'TD001' THEN
            GET STACKED DIAGNOSTICS handover = PG_EXCEPTION_HINT;
            handover := coalesce(nullif(handover, ''), 'handover');
            approved := false; granted := 0; reasons := ARRAY[]::text[]; replayed := false;
        END;
        RETURN NEXT;
    END LOOP;
END $$
"""


def _earlier(filename: str, name: str) -> str:
    """``name`` as an earlier migration states it (migrations are history: read, never edited)."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"tide_migration_{filename[:4]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(getattr(module, name))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION card_decide({SIGNATURE_0008})")
        op.execute(CARD_DECIDE_CALL)
        op.execute(CARD_DECIDE)
        op.execute(CARD_DECIDE_MANY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION card_decide_many(jsonb)")
        op.execute("DROP FUNCTION card_decide(card_decide_call)")
        op.execute("DROP TYPE card_decide_call")
        op.execute(_earlier("0008_card_decision_function.py", "CARD_DECIDE"))
        op.execute(_earlier("0009_card_decide_many.py", "CARD_DECIDE_MANY"))
