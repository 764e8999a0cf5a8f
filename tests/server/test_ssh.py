"""The server's login throttle (server/ssh.py); the server itself is tested end to end in tests/e2e/test_ssh.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from alation_shell.server.ssh import Throttle, throttled_as


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


class Events:
    """What a throttle logs, as (event, fields)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, object]]] = []

    def __call__(self, event: str, **fields: object) -> None:
        self.seen.append((event, fields))


def delay(throttle: Throttle, address: str) -> float:
    record = throttle.record(address)
    assert record.acquire()
    try:
        return record.delay()
    finally:
        record.release()


def fail(throttle: Throttle, address: str, *, ok: bool = False) -> None:
    record = throttle.record(address)
    assert record.acquire()
    try:
        record.succeeded() if ok else record.failed()
    finally:
        record.release()


def test_failures_double_the_wait_and_a_success_forgets_them(tmp_path: Path, pool: ThreadPoolExecutor) -> None:
    throttle = Throttle(tmp_path / "throttle", pool, Events())
    assert delay(throttle, "192.0.2.1") == 0
    for expected in (0.25, 0.5, 1.0, 2.0):
        fail(throttle, "192.0.2.1")
        assert delay(throttle, "192.0.2.1") == expected
    assert delay(throttle, "192.0.2.2") == 0  # another address
    for _ in range(20):
        fail(throttle, "192.0.2.1")
    assert delay(throttle, "192.0.2.1") == Throttle.CAP
    fail(throttle, "192.0.2.1", ok=True)
    assert delay(throttle, "192.0.2.1") == 0
    assert list((tmp_path / "throttle").iterdir()) == []  # an address without failures keeps no file


def test_workers_of_one_home_count_the_failures_together(tmp_path: Path, pool: ThreadPoolExecutor) -> None:
    one = Throttle(tmp_path / "throttle", pool, Events())
    two = Throttle(tmp_path / "throttle", pool, Events())  # as another worker process has
    fail(one, "192.0.2.1")
    assert delay(two, "192.0.2.1") == 0.25
    fail(two, "192.0.2.1")
    fail(one, "192.0.2.1")
    assert delay(one, "192.0.2.1") == delay(two, "192.0.2.1") == 1.0
    held = one.record("192.0.2.1")
    assert held.acquire()
    assert not two.record("192.0.2.1").acquire()  # its turn is taken, whichever throttle asks
    assert two.record("192.0.2.9").acquire()  # not another address's
    held.release()
    fail(two, "192.0.2.1", ok=True)
    assert delay(one, "192.0.2.1") == 0


def test_password_checks_of_one_address_take_turns_across_workers(tmp_path: Path,
                                                                  pool: ThreadPoolExecutor) -> None:
    one = Throttle(tmp_path / "throttle", pool, Events())
    two = Throttle(tmp_path / "throttle", pool, Events())
    events: list[str] = []

    async def attempt(throttle: Throttle, address: str, name: str) -> None:
        async with throttle.turn(address):
            events.append(f"{name} in")
            await asyncio.sleep(0.05)
            events.append(f"{name} out")

    async def go() -> None:
        await asyncio.gather(attempt(one, "192.0.2.1", "a1"), attempt(two, "192.0.2.1", "a2"),
                             attempt(one, "192.0.2.9", "b"), attempt(two, "192.0.2.1", "a3"),
                             attempt(one, "192.0.2.1", "a4"))

    asyncio.run(go())
    mine = [e for e in events if e.startswith("a")]
    assert len(mine) == 8
    for i in range(0, 8, 2):  # one at a time: each in is followed by its own out
        assert mine[i].endswith(" in") and mine[i + 1] == mine[i].replace(" in", " out"), mine
    assert events.index("b in") < events.index(mine[1])  # another address does not wait
    assert one._turns == {} and two._turns == {}  # nothing kept once nobody waits


def test_a_damaged_or_unusable_record_starts_afresh_and_says_so(tmp_path: Path, pool: ThreadPoolExecutor) -> None:
    events = Events()
    throttle = Throttle(tmp_path / "throttle", pool, events)
    fail(throttle, "192.0.2.1")
    throttle.record("192.0.2.1").path.write_bytes(b"\xffgarbage")
    assert delay(throttle, "192.0.2.1") == 0
    assert events.seen[-1][0] == "throttle-reset" and events.seen[-1][1]["address"] == "192.0.2.1"
    fail(throttle, "192.0.2.1")
    fail(throttle, "192.0.2.1")
    assert delay(throttle, "192.0.2.1") == 0.5  # counted again from nothing

    throttle.record("192.0.2.2").path.mkdir()  # cannot be opened, nor removed as a file
    fail(throttle, "192.0.2.2")  # the login goes on, unthrottled
    assert delay(throttle, "192.0.2.2") == 0
    assert events.seen[-1][0] == "throttle-unavailable" and events.seen[-1][1]["address"] == "192.0.2.2"


def test_stale_addresses_are_forgotten(tmp_path: Path, pool: ThreadPoolExecutor) -> None:
    throttle = Throttle(tmp_path / "throttle", pool, Events())
    stale = throttle.record("192.0.2.1").path
    stale.parent.mkdir()
    stale.write_text(f"5 {time.time() - Throttle.FORGET - 60:.3f}\n")  # as a worker long gone left it
    assert delay(throttle, "192.0.2.1") == 0
    stale.write_text(f"5 {time.time() - Throttle.FORGET - 60:.3f}\n")
    fail(throttle, "192.0.2.2")  # a failure sweeps the stale ones away (at most once per FORGET per process)
    assert [path.name for path in stale.parent.iterdir()] == [throttle.record("192.0.2.2").path.name]


def test_an_ipv6_client_is_counted_by_its_64_block_and_a_mapped_ipv4_as_itself() -> None:
    assert throttled_as("2001:db8:1:2:aaaa::1") == throttled_as("2001:db8:1:2:ffff:1:2:3") == "2001:db8:1:2::/64"
    assert throttled_as("2001:db8:1:3::1") != throttled_as("2001:db8:1:2::1")  # another block: another client
    assert throttled_as("::ffff:192.0.2.7") == throttled_as("192.0.2.7") == "192.0.2.7"
    assert throttled_as("fe80::1%eth0") == "fe80::/64"
    assert throttled_as("?") == "?"  # no address known: counted as such, never an error
