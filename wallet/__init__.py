"""The wallet domain: key workers' delegated budgets spent on families' identified needs.

Concepts (built on the ledger): the council's organisation (teams as cost centres, people
and their roles), funding sources, budgets allocated council → team → worker wallet,
pseudonymous families and their coded needs, purchases against those needs, receipts, and
the one spend policy every channel asks. Invariants: the ledger is the only source of
balances; a family is a random reference, never a name, address or date of birth.
"""
