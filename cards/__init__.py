"""Cards: key workers' Tide cards (Stripe Issuing), spending their wallets.

Concepts: a key worker is a **cardholder** with **cards** on their wallet (virtual, or
physical on request), which they, their manager or an admin freeze, unfreeze, cancel or
replace; a suspended wallet's cards go inactive with it. At the **till** Stripe asks Tide to
approve an **authorization**: Tide answers from the wallet, the same spend policy the app's
purchases ask (the merchant's category mapped to a purchase category) and any **allowance** a
manager gave, and an approval places a ledger **hold**. Afterwards Stripe's **events** tell
what happened: the authorization updated, reversed or expired (its hold goes back), or
approved without Tide (a network **stand-in**: held now); **transactions**, a **capture**
(takes the hold; any excess is **overspend**, flagged) or a **refund** (hands a capture back).
Each card payment is a **purchase** waiting for its family and needs, which the key worker
**links** later. **Reconciliation** checks Stripe's transactions against the ledger.

Where to look: ``issuing`` (a card's life), ``issuer`` (what Tide asks of Stripe, behind a
Protocol that ``api.stripe_gateway`` implements), ``till`` (the answer, the Python path),
``fast_till`` (the same answer in one PostgreSQL call, batched per wallet), ``till_call``
(what that call is given, stated once: ``card_decide``'s one argument), ``answers`` (a
request as read, the answer as sent), ``merchant_categories`` (every category Stripe sends,
in one reviewed table: ``merchant_categories.csv``), ``merchants``, ``events`` (applying an
event: by type to ``authorizations`` and ``transactions``), ``holds`` (placing, releasing, the sweeper),
``payments`` (what events share), ``linking``, ``reconciliation``, ``stripe_statement``
(Stripe's own list of a month's transactions, recorded for finance's reconciliation), ``models``,
``errors``.

Invariants: the wallet is never overspent by an approval (the ledger's conditional hold
refuses what it cannot cover, under the wallet's row lock); one answer per request event id
(a replay gets it again, never a second hold); every Stripe event applies once (claimed by
its id) and a final authorization status is never overwritten by an older one; a capture
always lands (what the wallet cannot pay goes to the overspend receivable, flagged); every
ledger transfer a Stripe transaction makes has an id beginning ``card:<ipi_…>:``. Nothing
here imports ``stripe``, Litestar or reportlab. Services flush, never commit: the edge owns
the transaction (``fast_till``'s one call is its own, on an autocommit connection).
"""
