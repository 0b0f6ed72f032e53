"""Passwords as NCSC advises: length over composition, common ones refused; and the demo
accounts' hashes are each their own (their own salt), not one hash shared."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.database import create_engine
from tests.api.conftest import sign_in
from wallet.demo import DEMO_DOMAIN, DEMO_PASSWORD
from wallet.errors import PasswordTooCommon, PasswordTooLong, PasswordTooShort
from wallet.models import Person
from wallet.passwords import MAX_LENGTH, MIN_LENGTH, check_password, common_passwords


@pytest.mark.parametrize(
    "password",
    [
        "fish and chips on friday",  # words, no capitals, digits or symbols: long is what counts
        "a" * 3 + "bcdefghijkl",
        "tide-demo-password",
        "x" * 4 + "ylophone-zebra" + "q" * (MAX_LENGTH - 18),
    ],
)
def test_a_long_uncommon_password_is_accepted_whatever_it_is_made_of(password: str) -> None:
    check_password(password, context=("sam.worker@council.example", "Sam Worker"))


def test_a_password_is_twelve_to_a_hundred_and_twenty_eight_characters() -> None:
    assert (MIN_LENGTH, MAX_LENGTH) == (12, 128)
    with pytest.raises(PasswordTooShort):
        check_password("eleven chr!")
    check_password("twelve chars")
    with pytest.raises(PasswordTooLong):
        check_password("long words " * 12)


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "Password1234!",
        "P4ssw0rd2024!!",
        "qwertyuiop12",
        "123456789012",
        "monkeymonkey",
        "abababababab",
        "correct horse battery staple",
        "Summer2024!!!",
        "winniethepooh",
        "iloveyou!!!!",
        "Liverpool1892",
        "Welcome123456",
        "tide12345678",
        "sam.worker2024",  # the person's own email
        "SamWorker!!!!",  # and name
    ],
)
def test_a_common_password_is_refused_even_dressed_up(password: str) -> None:
    with pytest.raises(PasswordTooCommon):
        check_password(password, context=("sam.worker@council.example", "Sam Worker"))


def test_the_deny_list_holds_thousands_of_common_passwords() -> None:
    assert len(common_passwords()) > 3000
    assert {"password", "123456", "qwerty", "iloveyou", "letmein"} <= common_passwords()


async def test_the_api_refuses_a_common_password_for_a_new_person(client: AsyncTestClient[Any]) -> None:
    admin = await sign_in(client, "admin")
    person = {"email": f"n{uuid.uuid4().hex[:8]}@council.example", "display_name": "Nia New"}
    common = await client.post(
        "/api/v1/people",
        json={**person, "password": "Password1234!"},
        headers={**admin.headers, "idempotency-key": str(uuid.uuid4())},
    )
    assert common.status_code == 422, common.text
    assert common.json()["type"] == "urn:tide:problem:password-too-common"
    long_one = await client.post("/api/v1/people", json={**person, "password": "x" * 129}, headers=admin.headers)
    assert long_one.status_code == 422
    good = await client.post(
        "/api/v1/people",
        json={**person, "password": "kettle on the windowsill"},
        headers={**admin.headers, "idempotency-key": str(uuid.uuid4())},
    )
    assert good.status_code == 201, good.text


async def test_each_demo_account_has_a_hash_of_its_own(county_url: str) -> None:
    engine = create_engine(county_url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            hashes = list(
                (await db.execute(select(Person.password_hash).where(Person.email.like(f"%@{DEMO_DOMAIN}")))).scalars()
            )
    finally:
        await engine.dispose()
    assert len(hashes) > 5
    assert len(set(hashes)) == len(hashes), "demo accounts share a hash (one salt for all)"
    assert all(PasswordHasher().verify(h, DEMO_PASSWORD) for h in hashes[:3])
