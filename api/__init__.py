"""The edges: the Litestar web app and JSON API, and the ``wallet`` command line.

Concepts: settings from the environment, one database engine per process, one transaction
per request or command (committed on success, rolled back otherwise), domain errors mapped
to HTTP problem+json in one place, every package's tables on one metadata for Alembic
(``schema``). Nothing imports ``api``; it imports everything below it (``reports``,
``approvals``, ``cards``, ``wallet``, ``ledger``).
"""
