"""Every table Tide has, on one ``MetaData``: the ledger's, and the wallet domain's as they arrive."""

from ledger.schema import metadata

__all__ = ["metadata"]
