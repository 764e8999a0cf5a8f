"""The one table of shell commands: dispatch, help and completion all read it.

Each command's code lives in its own module and is imported only when the command runs, so a
one-command session pays for nothing else.
"""

from __future__ import annotations

import importlib

from alation_shell.commands.base import CommandFunc


class Command:
    """A shell command: where its code is, what help shows, and what its arguments complete to."""

    __slots__ = ("name", "target", "summary", "usage", "addition", "completes", "hidden", "touches_data")

    def __init__(
        self,
        name: str,
        target: str,
        summary: str,
        usage: str,
        *,
        addition: bool = False,
        completes: str = "",
        hidden: bool = False,
        touches_data: bool = True,
    ) -> None:
        self.name = name
        self.target = target
        self.summary = summary
        self.usage = usage
        self.addition = addition  # the emulator's own, not part of the real shell
        self.completes = completes  # kind of argument the completer offers: conf, action, path, ...
        self.hidden = hidden
        self.touches_data = touches_data  # reads or writes the instance: an interrupted restore is finished first

    def load(self) -> CommandFunc:
        module, func = self.target.split(":")
        return getattr(importlib.import_module(module), func)


_TABLE = (
    Command(
        "alation_conf", "alation_shell.commands.alation_conf:run",
        "read and set configuration parameters",
        "alation_conf NAME [-s VALUE] [NAME -s VALUE ...] | -l [PATTERN] | --describe NAME | --help",
        completes="conf",
    ),
    Command(
        "alation_action", "alation_shell.commands.alation_action:run",
        "run an administration action (backup, restore, restart, keys, cluster)",
        "alation_action ACTION | --help", completes="action",
    ),
    Command(
        "alation_supervisor", "alation_shell.commands.supervisor:run",
        "status, start, stop or restart supervisord program groups",
        "alation_supervisor status|start|stop|restart [GROUP ...]", completes="supervisor",
    ),
    Command(
        "sudo", "alation_shell.commands.supervisor:sudo",
        "run a command as root (e.g. sudo /etc/init.d/supervisord restart)",
        "sudo COMMAND [ARG ...]", completes="sudo",
    ),
    Command("supervisord", "alation_shell.commands.supervisor:supervisord",
            "the supervisord init script (needs sudo)", "sudo /etc/init.d/supervisord restart|status",
            hidden=True),
    Command("service", "alation_shell.commands.supervisor:service", "run an init script (needs sudo)",
            "sudo service NAME restart|status", hidden=True),
    Command("alation", "alation_shell.commands.supervisor:alation", "the Alation init script",
            "sudo /etc/init.d/alation shell", hidden=True),
    Command("ls", "alation_shell.commands.files:ls", "list a directory", "ls [-l] [-a] [-h] [PATH ...]",
            completes="path"),
    Command("cd", "alation_shell.commands.files:cd", "change the working directory", "cd [PATH]",
            completes="path"),
    Command("pwd", "alation_shell.commands.files:pwd", "print the working directory", "pwd", touches_data=False),
    Command("cat", "alation_shell.commands.files:cat", "print files", "cat PATH ...", completes="path"),
    Command("tail", "alation_shell.commands.files:tail", "print the last lines of a file",
            "tail [-n N] PATH ...", completes="path"),
    Command("chown", "alation_shell.commands.files:chown", "change file owner and group (needs sudo)",
            "sudo chown [-R] OWNER[:GROUP] FILE ...", completes="path"),
    Command("du", "alation_shell.commands.files:du", "disk usage of files and directories",
            "du [-s] [-h] [PATH ...]", completes="path"),
    Command("sim", "alation_shell.commands.sim:run",
            "the emulator's clock and backup timeline (clock, advance, backups, verify, reset)",
            "sim clock | sim advance DURATION | sim backups | sim verify [FILE] | sim reset",
            addition=True, completes="sim"),
    Command("help", "alation_shell.commands.builtins:help_", "list commands, or show one command's help",
            "help [COMMAND]", addition=True, completes="command", touches_data=False),
    Command("history", "alation_shell.commands.builtins:history", "show the commands typed in this session",
            "history [N]", touches_data=False),
    Command("clear", "alation_shell.commands.builtins:clear", "clear the screen", "clear", touches_data=False),
    Command("exit", "alation_shell.commands.builtins:exit_", "leave the Alation shell", "exit [STATUS]",
            touches_data=False),
    Command("logout", "alation_shell.commands.builtins:exit_", "leave the Alation shell", "logout",
            hidden=True, touches_data=False),
)

COMMANDS: dict[str, Command] = {c.name: c for c in _TABLE}


def visible() -> list[Command]:
    """Commands help and completion show, in table order."""
    return [c for c in _TABLE if not c.hidden]
