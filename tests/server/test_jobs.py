"""The command pool's jobs and the lines a session without a pty reads."""

from __future__ import annotations

import asyncio
import threading

from alation_shell.server.jobs import INTERRUPTED, CommandPool, Job, LineFeed


def test_an_interrupted_job_stops_at_its_next_check_in_its_own_thread() -> None:
    started, checks = threading.Event(), []

    def work() -> str:
        started.set()
        while True:
            checks.append(1)
            job.check()  # what a command's output stream does on each write

    job = Job(work)
    worker = threading.Thread(target=lambda: checks.append(job()))
    worker.start()
    started.wait(10)
    job.check()  # another thread: never raises there
    job.interrupt()
    worker.join(10)
    assert not worker.is_alive() and checks[-1] is INTERRUPTED
    job.check()  # raised once only


def test_a_job_with_a_cancel_is_cancelled_first_and_interrupted_at_the_second_ctrl_c() -> None:
    started, cancelled, checks = threading.Event(), threading.Event(), []

    def work() -> str:
        started.set()
        cancelled.wait(10)
        job.check()  # the command reports that it was cancelled: its output is not cut off
        checks.append("reported")
        while True:
            job.check()  # a command that no longer checks its token: the second Ctrl-C stops it here

    job = Job(work, cancel=cancelled.set)
    worker = threading.Thread(target=lambda: checks.append(job()))
    worker.start()
    started.wait(10)
    job.interrupt()
    assert cancelled.wait(10)
    while "reported" not in checks:
        threading.Event().wait(0.01)
    job.interrupt()
    worker.join(10)
    assert not worker.is_alive() and checks == ["reported", INTERRUPTED]


def test_a_forced_interrupt_cancels_and_interrupts_at_once() -> None:
    started, cancelled = threading.Event(), threading.Event()

    def work() -> str:
        started.set()
        while True:
            job.check()

    job = Job(work, cancel=cancelled.set)
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(job()))
    worker.start()
    started.wait(10)
    job.interrupt(force=True)  # a client gone: nobody reads the report
    worker.join(10)
    assert cancelled.is_set() and result == [INTERRUPTED]


def test_a_job_interrupted_before_it_starts_never_runs() -> None:
    ran = []
    job = Job(lambda: ran.append(1))
    job.interrupt()
    assert job() is INTERRUPTED and ran == []


def test_the_pool_runs_jobs_off_the_event_loop() -> None:
    async def go() -> tuple[int, int]:
        pool = CommandPool(2)
        try:
            return await pool.run(Job(threading.get_ident)), threading.get_ident()  # type: ignore[return-value]
        finally:
            pool.shutdown()

    theirs, loop_thread = asyncio.run(go())
    assert theirs != loop_thread


def test_line_feed_gives_lines_in_order_to_the_loop_and_to_a_thread() -> None:
    async def go() -> list[object]:
        feed = LineFeed()
        feed.feed("one\r\ntw")
        feed.feed("o\nthree\nfour")
        got: list[object] = [await feed.next_line()]
        blocking = feed.blocking()
        got.append(await asyncio.get_running_loop().run_in_executor(None, next, blocking))
        got.append(await feed.next_line())
        waiter = asyncio.ensure_future(feed.next_line())
        await asyncio.sleep(0)
        assert not waiter.done()
        feed.close()  # the last line, without a newline, still counts
        got += [await waiter, await feed.next_line(), next(blocking, None)]
        return got

    assert asyncio.run(go()) == ["one", "two", "three", "four", None, None]


def test_the_clients_locale_picks_the_channels_character_set() -> None:
    from alation_shell.server.ssh import _charset

    assert _charset({}) == "utf-8"
    assert _charset({"LANG": "en_US.UTF-8"}) == "utf-8"
    assert _charset({"LANG": "C"}) == "ascii"
    assert _charset({"LANG": "de_DE.ISO-8859-1", "LC_ALL": "fr_FR.ISO-8859-15@euro"}) == "iso8859-15"
    assert _charset({"LANG": "xx_XX.NOT-A-CODEC"}) == "utf-8"
