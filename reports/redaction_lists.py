"""The council's redaction lists: admins add and remove entries; every published file and the
free-text warning read them on top of Tide's defaults (:mod:`reports.redaction`).

The lists: ``personal_payees`` (payees who are people), ``sensitive_merchants`` (whole names
that reveal a need), ``vulnerability_words`` (words that reveal a need wherever they appear),
``forenames`` and ``surnames`` (added to the gazetteer) and ``known_businesses`` (shops named
after a person, published as they are). Each change is audited (the list, never the entry:
an entry may itself be a person's name).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.operations import Db
from reports.redaction import PersonalDataWarning, Redaction, combined, personal_data_warning, rules_from_lists
from wallet import audit
from wallet.access import Principal
from wallet.errors import DuplicateRecord, NotFound, UnknownCode
from wallet.report_models import RedactionTerm

LISTS = ("personal_payees", "sensitive_merchants", "vulnerability_words", "forenames", "surnames", "known_businesses")


async def list_redaction_terms(db: AsyncSession, *, who: Principal) -> list[RedactionTerm]:
    """Every entry of the council's lists, by list then entry (admin)."""
    who.require("admin")
    rows = await db.execute(select(RedactionTerm).order_by(RedactionTerm.list_name, RedactionTerm.term))
    return list(rows.scalars())


async def add_redaction_term(
    db: AsyncSession, *, who: Principal, list_name: str, term: str, now: datetime
) -> RedactionTerm:
    """Add ``term`` to one of the council's lists (admin)."""
    who.require("admin")
    if list_name not in LISTS:
        raise UnknownCode(f"unknown redaction list {list_name!r}; use one of {', '.join(LISTS)}")
    cleaned = " ".join(term.split())
    if not cleaned:
        raise UnknownCode("an entry cannot be blank")
    found = await db.execute(
        select(RedactionTerm.id).where(RedactionTerm.list_name == list_name, RedactionTerm.term == cleaned)
    )
    if found.first() is not None:
        raise DuplicateRecord("that entry is already on the list")
    entry = RedactionTerm(list_name=list_name, term=cleaned, added_by=who.person_id, added_at=now)
    db.add(entry)
    await db.flush()
    await audit.record(
        db, actor=who, action="redaction.term_added", subject_type="redaction_term", subject_id=entry.id, now=now,
        details={"list": list_name},
    )  # fmt: skip
    return entry


async def remove_redaction_term(db: AsyncSession, *, who: Principal, term_id: int, now: datetime) -> None:
    """Take an entry off its list (admin)."""
    who.require("admin")
    entry = await db.get(RedactionTerm, term_id)
    if entry is None:
        raise NotFound(f"no redaction entry {term_id}")
    await db.delete(entry)
    await db.flush()
    await audit.record(
        db, actor=who, action="redaction.term_removed", subject_type="redaction_term", subject_id=term_id, now=now,
        details={"list": entry.list_name},
    )  # fmt: skip


async def council_redaction(db: Db, base: Redaction | None = None) -> Redaction:
    """Tide's defaults (or ``base``) plus the council's lists, as every published file applies them."""
    lists: dict[str, list[str]] = {name: [] for name in LISTS}
    for list_name, term in (await db.execute(select(RedactionTerm.list_name, RedactionTerm.term))).all():
        lists.setdefault(str(list_name), []).append(str(term))
    listed = rules_from_lists(**{name: lists[name] for name in LISTS})
    return listed if base is None else combined(base, listed)


async def check_free_text(db: AsyncSession, *, who: Principal, text: str) -> PersonalDataWarning:
    """Whether free text being typed looks personal, under the council's lists (anyone signed in;
    the text is neither kept nor logged)."""
    del who  # signed in is enough: the answer says only what kind of thing the text seems to hold
    return personal_data_warning(text[:2_000], await council_redaction(db))
