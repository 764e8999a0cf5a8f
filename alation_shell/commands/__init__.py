"""The one table of shell commands: dispatch, help and completion all read it.

Each command's code lives in its own module and is imported only when the command runs, so a
one-command session pays for nothing else.
"""

from __future__ import annotations

import importlib

from alation_shell.commands.base import CommandFunc


class Command:
    """A shell command: where its code is, what help shows, and what its arguments complete to."""

    __slots__ = ("name", "target", "summary", "usage", "addition", "completes", "hidden")

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
    ) -> None:
        self.name = name
        self.target = target
        self.summary = summary
        self.usage = usage
        self.addition = addition  # the emulator's own, not part of the real shell
        self.completes = completes  # kind of argument the completer offers: conf, action, path, ...
        self.hidden = hidden

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
        "alation_supervisor status|start|stop|restart [GROUP ...] | --help", completes="supervisor",
    ),
    Command(
        "alation_psql", "alation_shell.commands.psql:run",
        "the catalog database's SQL prompt (psql; read-only unless --write)",
        "alation_psql [-c SQL] [-x] [-A] [-t] [-v ON_ERROR_STOP=1 --write] | --help",
    ),
    Command("alation_ypireti", "alation_shell.commands.connectors:alation_ypireti",
            "the OCF connector tool (run as user alation)", "alation_ypireti sync|list | --help"),
    Command("kratos", "alation_shell.commands.connectors:kratos", "Alation Connector Manager's CLI",
            "kratos --version | --help"),
    Command("alation_django_shell", "alation_shell.commands.django_shell:run",
            "the application's Django shell (documented calls only)", "alation_django_shell | --help"),
    Command("curl", "alation_shell.commands.curl:run", "fetch a URL of the server (e.g. the replication monitor)",
            "curl [-LksSfv] [-o FILE] URL"),
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
    Command("pwd", "alation_shell.commands.files:pwd", "print the working directory", "pwd"),
    Command("cat", "alation_shell.commands.files:cat", "print files", "cat PATH ...", completes="path"),
    Command("chown", "alation_shell.commands.files:chown", "change file owner and group (needs sudo)",
            "sudo chown [-R] OWNER[:GROUP] FILE ...", completes="path"),
    Command("du", "alation_shell.commands.files:du", "disk usage of files and directories",
            "du [-s] [-h] [-d N|--max-depth=N] [PATH ...]", completes="path"),
    Command("echo", "alation_shell.commands.text:echo", "print the arguments (bash's echo)",
            "echo [-neE] [STRING ...]"),
    Command("grep", "alation_shell.commands.grep:grep", "print the lines that match a pattern",
            "grep [-EFGHchilnoqsvwx] [-m NUM] [-e PATTERN ...] PATTERN [FILE ...]", completes="path"),
    Command("cut", "alation_shell.commands.text:cut", "print selected fields or characters of each line",
            "cut -f LIST [-d DELIM] [-s] | -c LIST | -b LIST [--complement] [--output-delimiter=STR] [FILE ...]",
            completes="path"),
    Command("tr", "alation_shell.commands.text:tr", "translate, squeeze or delete characters",
            "tr [-cdst] SET1 [SET2]"),
    Command("wc", "alation_shell.commands.text:wc", "count lines, words and bytes",
            "wc [-clmwL] [FILE ...]", completes="path"),
    Command("head", "alation_shell.commands.text:head", "print the first lines of files",
            "head [-n [-]N | -c [-]N] [-qv] [FILE ...]", completes="path"),
    Command("tail", "alation_shell.commands.text:tail", "print the last lines of files, or follow them (-f)",
            "tail [-n [+]N | -c [+]N] [-f] [-s SECONDS] [-qv] [FILE ...]", completes="path"),
    Command("sort", "alation_shell.commands.text:sort", "sort lines (C locale)",
            "sort [-bdfnrsu] [-t SEP] [-k POS1[,POS2]] ... [FILE ...]", completes="path"),
    Command("uniq", "alation_shell.commands.text:uniq", "collapse repeated lines",
            "uniq [-cdiu] [-f N] [-s N] [-w N] [FILE]", completes="path"),
    Command("tee", "alation_shell.commands.text:tee", "copy standard input to standard output and files",
            "tee [-a] [FILE ...]", completes="path"),
    Command("whoami", "alation_shell.commands.system:whoami", "print the current user", "whoami"),
    Command("id", "alation_shell.commands.system:id_", "print a user's uid, gid and groups",
            "id [-u|-g|-G] [-n] [USER]"),
    Command("hostname", "alation_shell.commands.system:hostname", "print the server's name or address",
            "hostname [-s|-f|-d|-i|-I]"),
    Command("date", "alation_shell.commands.system:date", "print the server's date and time (the virtual clock)",
            "date [-u] [-d @EPOCH] [-R | -I[TIMESPEC] | +FORMAT]"),
    Command("df", "alation_shell.commands.system:df", "free and used space of the server's disks",
            "df [-h|-k|-m|-B SIZE] [-T] [PATH ...]", completes="path"),
    Command("ip", "alation_shell.commands.system:ip", "the server's network addresses and routes",
            "ip [-4|-6] addr|link|route [show [dev] IFACE]"),
    Command("su", "alation_shell.commands.supervisor:su", "become another user (sudo su - alation)",
            "sudo su [-] [USER] [-c COMMAND]"),
    Command("sim", "alation_shell.commands.sim:run",
            "the emulator's clock and backup timeline (clock, advance, backups, verify, reset)",
            "sim clock | sim advance DURATION | sim backups | sim verify [FILE] | sim reset | sim --help",
            addition=True, completes="sim"),
    Command("help", "alation_shell.commands.builtins:help_", "list commands, or show one command's help",
            "help [COMMAND]", addition=True, completes="command"),
    Command("history", "alation_shell.commands.builtins:history", "show the commands typed in this session",
            "history [N]"),
    Command("clear", "alation_shell.commands.builtins:clear", "clear the screen", "clear"),
    Command("exit", "alation_shell.commands.builtins:exit_", "leave the Alation shell", "exit [STATUS]"),
    Command("logout", "alation_shell.commands.builtins:exit_", "leave the Alation shell", "logout",
            hidden=True),
)

COMMANDS: dict[str, Command] = {c.name: c for c in _TABLE}


def visible() -> list[Command]:
    """Commands help and completion show, in table order."""
    return [c for c in _TABLE if not c.hidden]
