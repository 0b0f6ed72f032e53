"""The per-wallet gate lets only a few of a process's holds on one wallet wait in the database."""

from __future__ import annotations

import asyncio

import pytest

from ledger.gates import PER_WALLET, wallet_gate


async def inside_at_once(wallet_ids: list[int]) -> dict[int, int]:
    """The most tasks that were inside the gate together, per wallet."""
    inside: dict[int, int] = dict.fromkeys(wallet_ids, 0)
    most: dict[int, int] = dict.fromkeys(wallet_ids, 0)

    async def hold(wallet_id: int) -> None:
        async with wallet_gate(wallet_id):
            inside[wallet_id] += 1
            most[wallet_id] = max(most[wallet_id], inside[wallet_id])
            await asyncio.sleep(0.01)
            inside[wallet_id] -= 1

    await asyncio.gather(*(hold(w) for w in wallet_ids))
    return most


async def test_holds_on_one_hot_wallet_go_in_a_few_at_a_time() -> None:
    assert await inside_at_once([7] * 20) == {7: PER_WALLET}


async def test_holds_on_different_wallets_do_not_wait_for_each_other() -> None:
    everyone_inside = asyncio.Barrier(20)

    async def hold(wallet_id: int) -> None:
        async with wallet_gate(wallet_id):
            await everyone_inside.wait()  # would never be reached by all if one gate blocked another

    await asyncio.wait_for(asyncio.gather(*(hold(w) for w in range(1, 21))), timeout=10)


async def test_a_hold_that_fails_inside_gives_its_place_back() -> None:
    for _ in range(PER_WALLET + 1):
        with pytest.raises(RuntimeError):
            async with wallet_gate(9):
                raise RuntimeError("the database refused")
    assert await inside_at_once([9] * 5) == {9: PER_WALLET}
