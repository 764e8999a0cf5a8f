"""The emulated host an SSH login lands on: a restricted bash whose only way on is the Alation shell."""

from __future__ import annotations

import pytest

from alation_shell.server.host import Host, host_completions, is_enter_shell


@pytest.mark.parametrize("line", ["sudo /etc/init.d/alation shell", "sudo service alation shell",
                                  "  sudo   service alation shell  # in"])
def test_the_ways_into_the_alation_shell(line: str) -> None:
    assert is_enter_shell(line)
    assert Host("trainee").execute(line).enter_shell


@pytest.mark.parametrize("line, stderr, status", [
    ("ls -l", "-rbash: ls: command not found\n", 127),
    ("cd ../../..", "-rbash: cd: restricted\n", 1),
    ("/bin/bash", "-rbash: /bin/bash: restricted: cannot specify `/' in command names\n", 1),
    ("sudo cat /etc/shadow",
     "Sorry, user trainee is not allowed to execute '/usr/bin/cat /etc/shadow' as root on alation-demo.\n", 1),
    ("sudo /etc/init.d/alation restart",
     "Sorry, user trainee is not allowed to execute '/etc/init.d/alation restart' as root on alation-demo.\n", 1),
    ("sudo su -", "Sorry, user trainee is not allowed to execute '/usr/bin/su -' as root on alation-demo.\n", 1),
    ("echo 'unclosed", "-rbash: syntax error: unexpected end of file\n", 2),
    ("x\x1b[2J", "-rbash: x\\x1b[2J: command not found\n", 127),
])
def test_anything_else_gets_a_locked_down_hosts_answer(line: str, stderr: str, status: int) -> None:
    result = Host("trainee").execute(line)
    assert (result.stdout, result.stderr, result.status) == ("", stderr, status)
    assert not result.enter_shell and not result.logout


def test_whoami_hostname_help_exit() -> None:
    host = Host("trainee")
    assert host.prompt() == "[trainee@alation-demo ~]$ "
    assert host.execute("whoami").stdout == "trainee\n"
    assert host.execute("hostname").stdout == "alation-demo\n"
    assert "sudo /etc/init.d/alation shell" in host.execute("help").stdout
    host.execute("ls")
    bare = host.execute("exit")  # bash's: the status of the last command
    assert bare.logout and bare.status == 127
    assert host.execute("exit 3").status == 3 and host.execute("logout").stdout == "logout\n"
    assert host.execute("exit x").status == 2


@pytest.mark.parametrize("typed, start, words", [
    ("", 0, ["exit", "help", "hostname", "logout", "sudo", "walkthrough", "whoami"]),
    ("su", 0, ["sudo"]),
    ("sudo ", 5, ["/etc/init.d/alation", "service"]),
    ("sudo /etc/init", 5, ["/etc/init.d/alation"]),
    ("sudo /etc/init.d/alation s", 25, ["shell"]),
    ("sudo service al", 13, ["alation"]),
    ("sudo service alation ", 21, ["shell"]),
    ("sudo cat ", 9, []),  # nothing else may be run with sudo: nothing else is offered
    ("ls ", 3, []),
    ("walkthrough in", 12, ["incremental-backups"]),
    ("walkthrough --", 12, ["--demo"]),
])
def test_tab_at_the_host_prompt_offers_its_commands_and_the_way_into_the_shell(typed: str, start: int,
                                                                                words: list[str]) -> None:
    assert host_completions(typed, len(typed), ["incremental-backups", "weekly-full"]) == (start, words)
