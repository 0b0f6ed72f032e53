"""Light approvals: a manager decides an exception while the worker is still at the till.

Concepts: an **approval request** (raised by the spend policy's "needs approval", or by a
key worker in advance) carries the family, needs, category, an amount ceiling and a reason.
A manager of the requester's team — or their **deputy** for the day, or the team's
**fallback approver** once the request has waited too long (**escalation**) — approves
(perhaps for less), declines with a reason, or asks a question. Above the council's
threshold a **second approver** (another manager, or finance) must approve too. An approved
request becomes one single-use **allowance** (``wallet.allowances``) that the next matching
purchase or card authorization consumes. Settled purchases without a receipt, or with a
duplicated one, open a **receipt review**: reminders at set days, then the wallet is
**suspended** until a manager clears it. Every event writes a **notification** to the outbox
in the same transaction; a job sends it by email and the web shows it as an inbox.

Invariants: a decision is final (the database refuses to change a decided request); nobody
approves their own request or their own wallet's spending; a second approver is another
person; an allowance is used at most once and never for more than its ceiling; sending an
email never blocks or undoes a decision. Services flush, never commit: the edge owns the
transaction.
"""
