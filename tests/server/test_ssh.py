"""The server's login throttle (server/ssh.py); the server itself is tested end to end in tests/e2e/test_ssh.py."""

from __future__ import annotations

import asyncio

from alation_shell.server.ssh import Throttle


def test_failures_double_the_wait_and_a_success_forgets_them() -> None:
    throttle = Throttle()
    assert throttle.delay("192.0.2.1") == 0
    for expected in (0.25, 0.5, 1.0, 2.0):
        throttle.failed("192.0.2.1")
        assert throttle.delay("192.0.2.1") == expected
    assert throttle.delay("192.0.2.2") == 0  # another address
    for _ in range(20):
        throttle.failed("192.0.2.1")
    assert throttle.delay("192.0.2.1") == Throttle.CAP
    throttle.succeeded("192.0.2.1")
    assert throttle.delay("192.0.2.1") == 0


def test_password_checks_of_one_address_take_turns() -> None:
    throttle = Throttle()
    events: list[str] = []

    async def attempt(address: str, name: str) -> None:
        async with throttle.turn(address):
            events.append(f"{name} in")
            await asyncio.sleep(0.01)
            events.append(f"{name} out")

    async def go() -> None:
        await asyncio.gather(attempt("192.0.2.1", "a1"), attempt("192.0.2.1", "a2"), attempt("192.0.2.9", "b"),
                             attempt("192.0.2.1", "a3"))

    asyncio.run(go())
    mine = [e for e in events if e.startswith("a")]
    assert mine == ["a1 in", "a1 out", "a2 in", "a2 out", "a3 in", "a3 out"]
    assert events.index("b in") < events.index("a1 out")  # another address does not wait
    assert throttle._turns == {}  # nothing kept once nobody waits
