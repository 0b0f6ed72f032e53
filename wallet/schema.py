"""Every table Tide has, on one ``MetaData``: the ledger's and the wallet domain's."""

import wallet.approval_models
import wallet.card_models
import wallet.models
import wallet.report_models  # noqa: F401  (registers the domain's, approvals', cards' and reports' tables)
from ledger.schema import metadata

__all__ = ["metadata"]
