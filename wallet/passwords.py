"""What makes a password acceptable: length, not composition, and not a common one.

NCSC's guidance for systems people sign in to: no rules about capitals, digits or symbols
(they make passwords harder to remember and no harder to guess), a minimum length, and a
deny-list of the passwords attackers try first. So a password is ``MIN_LENGTH`` to
``MAX_LENGTH`` characters (after Unicode NFKC normalisation, so "ﬀ" is two), and it is refused
when it is common: on ``common_passwords.txt`` (3,400-odd entries, see its header), or one of
those with digits and symbols around it (``Password1234!``), in common substitutions
(``p4ssw0rd``), twice over (``monkeymonkey``), a few characters over and over
(``abababababab``), or the person's own name or email. Spaces are not counted when comparing,
so ``correct horse battery staple`` is the famous example it is.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from wallet.errors import PasswordTooCommon, PasswordTooLong, PasswordTooShort

MIN_LENGTH = 12
MAX_LENGTH = 128
DENY_LIST = Path(__file__).with_name("common_passwords.txt")
_AROUND = string.digits + string.punctuation + "£€"
_UNLEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


@functools.cache
def common_passwords() -> frozenset[str]:
    """The deny-list, lower case, without spaces."""
    lines = DENY_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(_key(line) for line in lines if line.strip() and not line.startswith("#"))


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def _forms(password: str) -> set[str]:
    """The password as an attacker's list would hold it: bare, stripped, unsubstituted, halved."""
    key = _key(password)
    core = key.strip(_AROUND)
    forms = {key, core, core.translate(_UNLEET), key.translate(_UNLEET).strip(_AROUND)}
    for form in list(forms):
        half = len(form) // 2
        if half and form == form[:half] * 2:
            forms.add(form[:half])
    return {form for form in forms if form}


def _context_words(context: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for text in context:
        key = _key(text)
        words.add(key)
        words.add(key.split("@", 1)[0])
        words.update(part for part in re.split(r"[^a-z0-9]+", key) if len(part) >= 3)
    return {word for word in words if word}


def is_common(password: str, *, context: Iterable[str] = ()) -> bool:
    """Whether ``password`` is one attackers would try early (see the module's docstring)."""
    key = _key(password)
    if len(set(key)) < 4 or not key.strip(_AROUND):
        return True
    forms = _forms(password)
    return bool(forms & common_passwords()) or bool(forms & _context_words(context))


def check_password(password: str, *, context: Iterable[str] = ()) -> None:
    """Refuse a password that is too short, too long or common; ``context`` is what an
    attacker knows of the person (their email and name)."""
    length = len(unicodedata.normalize("NFKC", password))
    if length < MIN_LENGTH:
        raise PasswordTooShort(f"a password is at least {MIN_LENGTH} characters; a few words together make a good one")
    if length > MAX_LENGTH:
        raise PasswordTooLong(f"a password is at most {MAX_LENGTH} characters")
    if is_common(password, context=context):
        raise PasswordTooCommon("that password is one of those tried first by people guessing: choose another")
