"""`tail -f` ends on the first Ctrl-C in the interactive shell, as in bash (it writes nothing while it waits)."""

from __future__ import annotations

import time

import pexpect

from alation_shell.instance import Instance
from tests.e2e.test_repl import PROMPT, spawn


def test_one_ctrl_c_ends_tail_f_in_the_repl(instance: Instance) -> None:
    child = spawn(instance.root)
    child.send("echo started > /opt/alation/site/logs/follow.log\r")
    child.expect(PROMPT)
    child.send("tail -f /opt/alation/site/logs/follow.log\r")
    child.expect("started")
    time.sleep(0.5)  # tail waits without writing
    child.sendintr()
    child.expect(PROMPT, timeout=10)
    child.send("echo $?\r")
    child.expect("130")
    child.expect(PROMPT)
    child.sendeof()
    child.expect(pexpect.EOF, timeout=10)
