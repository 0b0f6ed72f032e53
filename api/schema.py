"""Every table Tide has, on one ``MetaData``: the ledger's, the wallet domain's and the cards'.

Alembic's ``env.py`` and the migrations test read it; the app never needs it (each package
imports its own tables). It lives in ``api``, which may import every package below it.
"""

import cards.models
import cards.stripe_statement  # noqa: F401  (registers the cards' tables and Stripe's statement)
import wallet.approval_models
import wallet.buy_drafts
import wallet.buying_for
import wallet.finance_models
import wallet.idempotency_models
import wallet.keeping_models
import wallet.models
import wallet.paying.models
import wallet.proposal_models
import wallet.report_models
import wallet.retention_indexes
import wallet.sign_in_limits
import wallet.sign_in_models
import wallet.sustain_check_models  # noqa: F401  (registers every package's tables, the six-month checks' too)
from ledger.schema import metadata

__all__ = ["metadata"]
