"""Light approvals: a manager decides an exception while the key worker is still at the till.

Concepts (to come): approval requests raised by the spend policy or in advance, decisions
with separation of duties, cover and escalation, single-use allowances, after-the-fact
review of missing receipts, and a notification outbox. Invariants: a decision is final, nobody
approves their own request, and an allowance is consumed at most once.
"""
