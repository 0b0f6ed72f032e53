"""Cards: several answers for one wallet in one transaction (one commit for all of them).

On one busy wallet every approval waits for the previous one's durable commit (the wallet's
ledger row is locked from the hold to the commit). ``card_decide_many`` answers a queue of
requests for one wallet in one transaction: each is ``card_decide`` in a subtransaction of
its own, so one that must be handed to the Python path (SQLSTATE TD001) is undone alone and
reported by its ``handover``, while the others are kept and committed together.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CARD_DECIDE_MANY = """
CREATE FUNCTION card_decide_many(p_calls jsonb)
RETURNS TABLE (n integer, approved boolean, granted bigint, reasons text[], replayed boolean, handover text)
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    c jsonb;
    i integer := 0;
BEGIN
    FOR c IN SELECT value FROM jsonb_array_elements(p_calls) LOOP
        i := i + 1;
        n := i;
        handover := NULL;
        BEGIN
            SELECT d.approved, d.granted, d.reasons, d.replayed INTO approved, granted, reasons, replayed
                FROM card_decide(
                    c->>'event', c->>'authorization', c->>'card', (c->>'requested')::bigint, c->>'currency',
                    c->>'category', c->>'merchant', c->>'slug', c->>'description', (c->>'now')::timestamptz,
                    (c->>'policy')::bigint, (c->>'worker')::bigint, (c->>'team')::bigint, c->>'decision',
                    ARRAY(SELECT jsonb_array_elements_text(c->'reasons')), (c->>'receipt')::boolean,
                    (c->>'allow_partial')::boolean, (c->>'controllable')::boolean, (c->>'clearing')::bigint,
                    c->>'hold_hash', (c->>'date')::date, (c->>'expires')::timestamptz, c->>'ledger', c->>'memo'
                ) d;
        EXCEPTION WHEN SQLSTATE 'TD001' THEN
            GET STACKED DIAGNOSTICS handover = PG_EXCEPTION_HINT;
            handover := coalesce(nullif(handover, ''), 'handover');
            approved := false; granted := 0; reasons := ARRAY[]::text[]; replayed := false;
        END;
        RETURN NEXT;
    END LOOP;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CARD_DECIDE_MANY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS card_decide_many(jsonb)")
