"""Paying suppliers and reimbursing workers: the supplier register (kept by finance, every
record and every change of bank details confirmed by a second person), UK bank details
checked as Vocalink publishes, and the ledger's path of an invoice from hold to paid."""
