"""Card purchases at the till charged to the right pot: ``card_decide`` hands a request to the
Python path (which chooses the pot by ``wallet.funding.pot_for_purchase``, the app's rule)
whenever that rule could choose other than the team's default pot: the wallet holds money
from, or has purchases charged to, another pot, or the default pot's grant has conditions.
The rule is stated once, in Python; the function only says when it is the default pot
(restated: 0020's function plus that one step; ``tests/cards/test_till_pots.py`` holds the
two equal over random pots).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
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


#: 0020's step for a stated family, after which this one goes.
_FAMILY_STATED = _earlier("0020_grants_redaction_buying_for.py", "_FAMILY_STATED")
#: The one step ``card_decide`` gains: the default pot is the rule's choice only when the
#: wallet's money and purchases are all the default pot's and its grant has no conditions.
_POT_NOT_DEFAULT = """    IF EXISTS (SELECT 1 FROM funding_sources f WHERE f.id = v_found.funding
                  AND (f.starts_on IS NOT NULL OR f.ends_on IS NOT NULL
                       OR json_array_length(f.eligible_categories) > 0 OR json_array_length(f.eligible_needs) > 0
                       OR json_array_length(f.eligible_team_ids) > 0))
       OR EXISTS (SELECT 1 FROM allocations a WHERE a.wallet_id = v_found.wallet_id
                  AND a.funding_source_id IS DISTINCT FROM v_found.funding)
       OR EXISTS (SELECT 1 FROM purchases u WHERE u.wallet_id = v_found.wallet_id
                  AND u.funding_source_id IS DISTINCT FROM v_found.funding) THEN
        RAISE EXCEPTION 'the pot is chosen by its grant''s conditions' USING ERRCODE = 'TD001', HINT = 'pot';
    END IF;
"""
_CARD_DECIDE_0020 = _earlier("0020_grants_redaction_buying_for.py", "CARD_DECIDE")
assert _CARD_DECIDE_0020.count(_FAMILY_STATED) == 1
CARD_DECIDE = _CARD_DECIDE_0020.replace(_FAMILY_STATED, _FAMILY_STATED + _POT_NOT_DEFAULT)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CARD_DECIDE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_CARD_DECIDE_0020)
