"""Every table Tide has, on one ``MetaData``: the ledger's and the wallet domain's."""

import wallet.approval_models
import wallet.card_models
import wallet.models  # noqa: F401  (registers the domain's tables on the shared metadata)
from ledger.schema import metadata

__all__ = ["metadata"]
