"""Cards: deciding an authorization at the till in one PostgreSQL call; a hold the wallet
plainly cannot cover is declined without queueing for the wallet.

``card_decide`` does, in one round trip and one transaction, what the Python path in
``cards/till.py`` does in a dozen statements, for the common answers (the
policy allows it or denies it; the wallet has the money or not): it claims the decision by
the Stripe event id (a duplicate waits for the first and gets its answer), checks the policy
version the caller evaluated is still the one in force, locks the wallet's row (one decision
at a time per wallet, the same lock order as the Python path: decision, wallet, then the
ledger's own advisory lock in ``ledger_place_hold``), refuses what the card or wallet cannot
do, places the ledger hold, and records the purchase, the authorization, the audit entry and
the answer. It does not lock the wallet's row: the ledger keeps the limit (its advisory lock
and conditional update), what the card and wallet allow is read as of the moment, and a
second request for one authorization (an increment) is left to the Python path, which locks.

Anything else (the policy wants an approval, so an allowance may apply or a request is
raised; an incremental authorization; partial approval; facts that do not match what the
caller assumed) raises SQLSTATE ``TD001`` before anything is kept, and the caller decides on
the Python path instead. SQLite has no such function: it always takes the Python path.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLACE_HOLD_SIGNATURE = "text, bigint, bigint, bigint, timestamptz, text, text, date, timestamptz, text"
SIGNATURE = (
    "text, text, text, bigint, text, text, text, text, text, timestamptz, bigint, bigint, bigint, text, text[],"
    " boolean, boolean, boolean, bigint, text, date, timestamptz, text, text"
)

#: ``card_decide``, whole. Every way out but a replay writes the answer's row last (the Python path
#: may have answered the same event meanwhile: it claims by the row itself, so a conflict hands over).
CARD_DECIDE = """
CREATE FUNCTION card_decide(
    p_event text, p_authorization text, p_card text, p_requested bigint, p_currency text,
    p_category text, p_merchant text, p_slug text, p_description text, p_now timestamptz,
    p_policy bigint, p_worker bigint, p_team bigint, p_decision text, p_reasons text[],
    p_receipt boolean, p_allow_partial boolean, p_controllable boolean, p_clearing bigint,
    p_hold_hash text, p_date date, p_expires timestamptz, p_ledger text, p_memo text,
    OUT approved boolean, OUT granted bigint, OUT reasons text[], OUT replayed boolean
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
    PERFORM pg_advisory_xact_lock(7041947, hashtext(p_event));
    SELECT d.approved, d.amount, ARRAY(SELECT json_array_elements_text(d.reasons))
        INTO approved, granted, reasons
        FROM card_decisions d WHERE d.event_id = p_event;
    IF FOUND THEN
        replayed := true;
        RETURN;
    END IF;

    SELECT id INTO v_newest FROM policy_versions ORDER BY id DESC LIMIT 1;
    IF v_newest IS DISTINCT FROM p_policy THEN
        RAISE EXCEPTION 'the spend policy changed' USING ERRCODE = 'TD001', HINT = 'policy';
    END IF;

    SELECT c.id AS card_id, c.status AS card_status, w.id AS wallet_id, w.status AS wallet_status,
           w.person_id, w.team_id, w.account_id, t.default_funding_source_id AS funding
        INTO v_found
        FROM cards c JOIN wallets w ON w.id = c.wallet_id JOIN teams t ON t.id = w.team_id
        WHERE c.stripe_id = p_card;
    IF NOT FOUND THEN
        approved := false; granted := 0; reasons := ARRAY['unknown_card'];
        INSERT INTO card_decisions (event_id, authorization_stripe_id, source, decided, approved, amount, reasons,
                                    hold_transfer_id, settled, created_at)
            VALUES (p_event, p_authorization, 'request', true, approved, granted, to_json(reasons),
                    CASE WHEN approved THEN v_hold END, false, p_now)
            ON CONFLICT (event_id) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'answered meanwhile' USING ERRCODE = 'TD001', HINT = 'answered';
        END IF;
        RETURN;
    END IF;
    IF v_found.person_id IS DISTINCT FROM p_worker OR v_found.team_id IS DISTINCT FROM p_team THEN
        RAISE EXCEPTION 'the card''s wallet is not the one assumed' USING ERRCODE = 'TD001', HINT = 'wallet';
    END IF;

    SELECT status INTO v_existing FROM card_authorizations WHERE stripe_id = p_authorization;
    IF FOUND THEN
        IF v_existing <> 'pending' THEN
            -- Stripe has already closed it (it stopped waiting for this answer): hold nothing.
            approved := false; granted := 0; reasons := ARRAY['authorization_already_final'];
            INSERT INTO card_decisions (event_id, authorization_stripe_id, source, decided, approved, amount, reasons,
                                        hold_transfer_id, settled, created_at)
                VALUES (p_event, p_authorization, 'request', true, approved, granted, to_json(reasons),
                        CASE WHEN approved THEN v_hold END, false, p_now)
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
        WHEN p_currency <> 'gbp' THEN 'currency_not_gbp'
        WHEN p_requested <= 0 THEN 'no_amount_requested'
        WHEN p_category IS NULL THEN 'merchant_category_not_allowed'
        WHEN v_found.funding IS NULL THEN 'no_funding_source'
    END;
    IF v_refusal IS NOT NULL THEN
        approved := false; granted := 0; reasons := ARRAY[v_refusal];
        INSERT INTO card_authorizations (stripe_id, card_id, wallet_id, purchase_id, status, approved, amount,
                                         requested_amount, currency, merchant_name, merchant_category, category,
                                         stripe_seen, created_at, updated_at)
            VALUES (p_authorization, v_found.card_id, v_found.wallet_id, NULL, 'pending', false, 0,
                    greatest(p_requested, 0), coalesce(nullif(left(p_currency, 3), ''), 'gbp'), left(p_merchant, 200),
                    left(p_slug, 80), coalesce(p_category, ''), 0, p_now, p_now)
            ON CONFLICT (stripe_id) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'an incremental authorization' USING ERRCODE = 'TD001', HINT = 'increment';
        END IF;
        INSERT INTO card_decisions (event_id, authorization_stripe_id, source, decided, approved, amount, reasons,
                                    hold_transfer_id, settled, created_at)
            VALUES (p_event, p_authorization, 'request', true, approved, granted, to_json(reasons),
                    CASE WHEN approved THEN v_hold END, false, p_now)
            ON CONFLICT (event_id) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'answered meanwhile' USING ERRCODE = 'TD001', HINT = 'answered';
        END IF;
        RETURN;
    END IF;
    IF p_decision NOT IN ('allow', 'deny') THEN
        RAISE EXCEPTION 'the policy wants an approval' USING ERRCODE = 'TD001', HINT = 'approval';
    END IF;

    reasons := p_reasons;
    approved := false;
    IF p_decision = 'allow' THEN
        v_hold := 'card:' || p_event || ':' || 'hold';  -- (no colon before a word: Alembic would bind it)
        v_outcome := ledger_place_hold(v_hold, v_found.account_id, p_clearing, p_requested, p_expires, p_memo,
                                       p_hold_hash, p_date, p_now, p_ledger);
        IF v_outcome = 'applied' THEN
            approved := true;
        ELSIF v_outcome = 'insufficient_funds' THEN
            IF p_allow_partial AND p_controllable THEN
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
    granted := CASE WHEN approved THEN p_requested ELSE 0 END;

    INSERT INTO purchases (family_id, wallet_id, team_id, worker_id, funding_source_id, category, description,
                           supplier, amount, vat_evidence, payment_method, status, policy_decision, policy_reasons,
                           receipt_required, hold_transfer_id, captured_amount, refunded_amount, created_at,
                           updated_at)
        VALUES (NULL, v_found.wallet_id, v_found.team_id, v_found.person_id, v_found.funding, p_category,
                p_description, left(p_merchant, 120), p_requested, 'no_vat_evidence', 'card',
                CASE WHEN approved THEN 'held' ELSE 'declined' END, p_decision, to_json(reasons), p_receipt,
                CASE WHEN approved THEN v_hold END, 0, 0, p_now, p_now)
        RETURNING id INTO v_purchase;
    INSERT INTO card_authorizations (stripe_id, card_id, wallet_id, purchase_id, status, approved, amount,
                                     requested_amount, currency, merchant_name, merchant_category, category,
                                     stripe_seen, created_at, updated_at)
        VALUES (p_authorization, v_found.card_id, v_found.wallet_id, v_purchase, 'pending', approved, 0,
                p_requested, p_currency, left(p_merchant, 200), left(p_slug, 80), p_category, 0, p_now, p_now)
        ON CONFLICT (stripe_id) DO NOTHING;
    IF NOT FOUND THEN  -- another request for this authorization got here first: an increment
        RAISE EXCEPTION 'an incremental authorization' USING ERRCODE = 'TD001', HINT = 'increment';
    END IF;
    INSERT INTO audit_log (at, actor_id, action, subject_type, subject_id, request_id, details)
        VALUES (p_now, NULL, CASE WHEN approved THEN 'card.authorization.approved'
                                  ELSE 'card.authorization.declined' END,
                'purchase', v_purchase::text, NULL,
                json_build_object('authorization', p_authorization, 'event', p_event, 'amount', p_requested,
                                  'reasons', to_json(reasons)));
    INSERT INTO card_decisions (event_id, authorization_stripe_id, source, decided, approved, amount, reasons,
                                hold_transfer_id, settled, created_at)
        VALUES (p_event, p_authorization, 'request', true, approved, granted, to_json(reasons),
                CASE WHEN approved THEN v_hold END, false, p_now)
        ON CONFLICT (event_id) DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'answered meanwhile' USING ERRCODE = 'TD001', HINT = 'answered';
    END IF;
END $$
"""


#: ``ledger_place_hold`` as migration 0003 made it, with one step added before the wallet's queue:
#: when the wallet's counters already show it cannot cover the amount, the hold is declined (and
#: recorded as declined) at once. A decline on the figures of a moment ago is a decline made a
#: moment ago; it never lets anything through, so the limit holds as before. At a till whose
#: wallet is empty, declines no longer wait in line behind one another.
PLACE_HOLD_DECLINING_EARLY = """
CREATE OR REPLACE FUNCTION ledger_place_hold(
    p_id text, p_wallet bigint, p_clearing bigint, p_amount bigint, p_expires timestamptz, p_memo text,
    p_hash text, p_date date, p_now timestamptz, p_ledger text
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    first ledger_operations%ROWTYPE;
BEGIN
    INSERT INTO ledger_operations (id, kind, request_hash, outcome, recorded_at)
        VALUES (p_id, 'hold', p_hash, 'applied', p_now) ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
        SELECT * INTO first FROM ledger_operations WHERE id = p_id;
        IF first.kind <> 'hold' OR first.request_hash <> p_hash THEN
            RETURN 'conflict:' || first.kind;
        END IF;
        INSERT INTO ledger_replays (operation_id, replayed_at) VALUES (p_id, p_now);
        RETURN 'replay:' || first.outcome;
    END IF;
    IF EXISTS (SELECT 1 FROM ledger_accounts
               WHERE id = p_wallet AND debits_must_not_exceed_credits
                 AND debits_pending + debits_posted + p_amount > credits_posted) THEN
        UPDATE ledger_operations SET outcome = 'insufficient_funds' WHERE id = p_id;
        RETURN 'insufficient_funds';
    END IF;
    PERFORM pg_advisory_xact_lock(7041946, (p_wallet % 2147483647)::integer);
    UPDATE ledger_accounts SET debits_pending = debits_pending + p_amount
        WHERE id = p_wallet
          AND (NOT debits_must_not_exceed_credits OR debits_pending + debits_posted + p_amount <= credits_posted);
    IF NOT FOUND THEN
        UPDATE ledger_operations SET outcome = 'insufficient_funds' WHERE id = p_id;
        RETURN 'insufficient_funds';
    END IF;
    INSERT INTO ledger_transfers (id, operation_id, ledger, kind, debit_account_id, credit_account_id, amount,
                                  expires_at, flagged, accounting_date, recorded_at, memo)
        VALUES (p_id, p_id, p_ledger, 'hold', p_wallet, p_clearing, p_amount, p_expires, false, p_date, p_now,
                p_memo);
    RETURN 'applied';
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
        op.execute(PLACE_HOLD_DECLINING_EARLY)
        op.execute(CARD_DECIDE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS card_decide({SIGNATURE})")
        op.execute(f"DROP FUNCTION ledger_place_hold({PLACE_HOLD_SIGNATURE})")
        op.execute(_earlier("0003_hold_function.py", "PLACE_HOLD"))
