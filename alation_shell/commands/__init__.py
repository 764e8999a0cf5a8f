"""Command tables: what a session can run. Dispatch, help, completion and highlighting all read a session's table.

Each command declares its arguments once, here: its flags (with what each does and the value it takes), its
subcommands, and what each positional argument is (a parameter name, an action, a path, ...). Help prints
them, completion offers them, and the commands parse with them where they can.

Each command's code lives in its own module and is imported only when the command runs, so a one-command
session pays for nothing else.
"""

from __future__ import annotations

import importlib

from alation_shell.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from alation_shell.commands.base import CommandFunc

# What an argument is: completion offers words of its kind.
PARAMETER = "parameter"  # a configuration parameter's name
VALUE = "value"  # a value of the parameter named with it (`NAME -s VALUE`, `-s VALUE NAME`)
ACTION = "action"  # an alation_action action
VERB = "verb"  # a supervisorctl command (status, start, ...)
GROUP = "group"  # a supervisord program group or program
PATH = "path"  # a path in the emulated chroot
COMMAND = "command"  # the name of a command of the table
LINE = "line"  # a command line of its own (what `sudo` runs)
WORD = "word"  # one of the argument's `choices`
TEXT = "text"  # anything (a duration, a count): nothing to offer


class Arg:
    """A positional argument, or the value a flag takes: its name in usage lines, and what it is."""

    __slots__ = ("name", "kind", "choices", "optional", "many", "example")

    def __init__(
        self,
        name: str,
        kind: str,
        *,
        choices: tuple[str, ...] = (),
        optional: bool = False,
        many: bool = False,
        example: str = "",
    ) -> None:
        self.name = name
        self.kind = kind
        self.choices = choices  # the words allowed (WORD)
        self.optional = optional
        self.many = many  # this argument repeats to the end of the line
        self.example = example  # shown when the argument is missing

    @property
    def shown(self) -> str:
        """`FILE`, `[FILE]`, `NAME ...`, as usage lines show it."""
        name = f"{self.name} ..." if self.many else self.name
        return f"[{name}]" if self.optional else name

    def __repr__(self) -> str:
        return f"Arg({self.name!r}, {self.kind!r})"


class Flag:
    """A flag: the names completion offers, what it does, and the value it takes (None: none).

    `aliases` are accepted but not offered. `alone` flags are modes of their own, given as the first
    argument with nothing after them but their value (`alation_conf --describe NAME`).
    """

    __slots__ = ("names", "about", "value", "aliases", "alone")

    def __init__(
        self,
        names: tuple[str, ...],
        about: str,
        value: Arg | None = None,
        *,
        aliases: tuple[str, ...] = (),
        alone: bool = False,
    ) -> None:
        self.names = names
        self.about = about
        self.value = value
        self.aliases = aliases
        self.alone = alone

    @property
    def shown(self) -> str:
        """`-l, --list [PATTERN]`, as help lists it."""
        names = ", ".join(self.names)
        return names if self.value is None else f"{names} {self.value.shown}"


class Subcommand:
    """A subcommand (`sim advance`): what it does and its positional arguments."""

    __slots__ = ("name", "about", "args")

    def __init__(self, name: str, about: str, args: tuple[Arg, ...] = ()) -> None:
        self.name = name
        self.about = about
        self.args = args

    def check(self, args: list[str]) -> None:
        """UsageError unless `args` are as many as this subcommand takes."""
        required = [a for a in self.args if not a.optional]
        if self.args and self.args[-1].many:
            if len(args) >= len(required):
                return
        elif len(required) <= len(args) <= len(self.args):
            return
        if not self.args:
            raise UsageError(f"{self.name} takes no argument")
        names = " ".join(a.name for a in self.args)
        if not required:
            raise UsageError(f"{self.name} takes at most one {names}")
        example = f", e.g. {self.args[0].example}" if self.args[0].example else ""
        raise UsageError(f"{self.name} takes one {names}{example}")


class Command:
    """A shell command: where its code is, what help shows, and what its arguments are."""

    __slots__ = ("name", "target", "summary", "usage", "args", "flags", "subcommands", "typed_as", "sudo",
                 "addition", "hidden",
                 "touches_data")

    def __init__(
        self,
        name: str,
        target: str,
        summary: str,
        usage: str,
        *,
        args: tuple[Arg, ...] = (),
        flags: tuple[Flag, ...] = (),
        subcommands: tuple[Subcommand, ...] = (),
        typed_as: str = "",
        sudo: bool = False,
        addition: bool = False,
        hidden: bool = False,
        touches_data: bool = True,
    ) -> None:
        self.name = name
        self.target = target
        self.summary = summary
        self.usage = usage
        self.args = args
        self.flags = flags
        self.subcommands = subcommands
        self.typed_as = typed_as or name  # as the operator types it: `/etc/init.d/supervisord`
        self.sudo = sudo  # typed after `sudo` (its usage shows it so)
        self.addition = addition  # the emulator's own, not part of the real shell
        self.hidden = hidden
        self.touches_data = touches_data  # reads or writes the instance: an interrupted restore is finished first

    def load(self) -> CommandFunc:
        module, func = self.target.split(":")
        return getattr(importlib.import_module(module), func)

    def flag(self, word: str) -> Flag | None:
        """The flag `word` names (an alias too), or None."""
        for flag in self.flags:
            if word in flag.names or word in flag.aliases:
                return flag
        return None

    @property
    def letters(self) -> str:
        """The one-letter flags (`-l`, `-a`), which may be given together as `-la`."""
        return "".join(name[1] for flag in self.flags for name in flag.names if len(name) == 2)

    def subcommand(self, name: str) -> Subcommand | None:
        for sub in self.subcommands:
            if sub.name == name:
                return sub
        return None

    def __repr__(self) -> str:
        return f"Command({self.name!r})"


class CommandTable:
    """The commands of one kind of shell, in the order help lists them. A session is given its table."""

    __slots__ = ("title", "_commands", "_by_name")

    def __init__(self, title: str, commands: Iterable[Command]) -> None:
        self.title = title  # what `help` calls the list: "Commands of the Alation shell"
        self._commands = tuple(commands)
        self._by_name = {c.name: c for c in self._commands}

    def get(self, name: str) -> Command | None:
        return self._by_name.get(name)

    def find(self, word: str) -> Command | None:
        """The command a first word runs; a path runs the command of its last part (`/etc/init.d/alation`)."""
        found = self._by_name.get(word)
        if found is None and "/" in word:
            found = self._by_name.get(word.rsplit("/", 1)[-1])
        return found

    def visible(self) -> list[Command]:
        """The commands help and completion show, in table order."""
        return [c for c in self._commands if not c.hidden]

    def items(self) -> Iterator[tuple[str, Command]]:
        return iter(self._by_name.items())

    def values(self) -> Iterator[Command]:
        """Every command, hidden ones too, in table order."""
        return iter(self._commands)

    def without(self, *names: str) -> CommandTable:
        """This table less the commands `names`."""
        return CommandTable(self.title, (c for c in self._commands if c.name not in names))

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._commands)


_HELP = Flag(("-h", "--help"), "this help", alone=True)
_PATHS = Arg("PATH", PATH, optional=True, many=True)
_FILES = Arg("FILE", PATH, many=True)

COMMANDS = CommandTable("Commands of the Alation shell", (
    Command(
        "alation_conf", "alation_shell.commands.alation_conf:run",
        "read and set configuration parameters",
        "alation_conf NAME [-s VALUE] [NAME -s VALUE ...] | -l [PATTERN] | --describe NAME | --help",
        args=(Arg("NAME", PARAMETER, many=True),),
        flags=(
            Flag(("-s",), "set the NAME before (or after) it to VALUE", Arg("VALUE", VALUE), aliases=("--set",)),
            Flag(("--describe",), "type, default, current value, restart and documentation of NAME",
                 Arg("NAME", PARAMETER), alone=True),
            _HELP,
            Flag(("-l", "--list"), "every parameter (or those containing PATTERN) with its value",
                 Arg("PATTERN", PARAMETER, optional=True), alone=True),
            Flag(("--reset",), "put parameters back to their defaults", Arg("NAME", PARAMETER, many=True),
                 alone=True),
            Flag(("--changed",), "only the values that differ from their defaults", alone=True),
        ),
    ),
    Command(
        "alation_action", "alation_shell.commands.actions:run",
        "run an administration action (backup, restore, restart, keys, cluster)",
        "alation_action ACTION | --help",
        args=(Arg("ACTION", ACTION),),
        flags=(Flag(("-h", "--help"), "list the actions", alone=True),),
    ),
    Command(
        "alation_supervisor", "alation_shell.commands.supervisor:run",
        "status, start, stop or restart supervisord program groups",
        "alation_supervisor status|start|stop|restart [GROUP ...] | --help",
        args=(Arg("COMMAND", VERB), Arg("GROUP", GROUP, optional=True, many=True)),
        flags=(_HELP,),
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
        "sudo COMMAND [ARG ...]",
        args=(Arg("COMMAND", LINE),),
    ),
    Command("supervisord", "alation_shell.commands.supervisor:supervisord",
            "the supervisord init script (needs sudo)", "sudo /etc/init.d/supervisord restart|status",
            args=(Arg("COMMAND", WORD, choices=("restart", "status")),),
            typed_as="/etc/init.d/supervisord", sudo=True, hidden=True),
    Command("service", "alation_shell.commands.supervisor:service", "run an init script (needs sudo)",
            "sudo service NAME restart|status",
            args=(Arg("NAME", TEXT), Arg("COMMAND", WORD, choices=("restart", "status"))),
            sudo=True, hidden=True),
    Command("alation", "alation_shell.commands.supervisor:alation", "the Alation init script",
            "sudo /etc/init.d/alation shell", args=(Arg("COMMAND", WORD, choices=("shell",)),),
            typed_as="/etc/init.d/alation", sudo=True, hidden=True),
    Command("ls", "alation_shell.commands.files:ls", "list a directory",
            "ls [-l] [-a] [-h] [-t] [-S] [-r] [--block-size=SIZE] [PATH ...]",
            args=(_PATHS,),
            flags=(Flag(("-l",), "long listing: mode, links, owner, size, date"),
                   Flag(("-a",), "dot files too"),
                   Flag(("-h",), "sizes like 4.0K and 12M (with -l)"),
                   Flag(("-t",), "newest first"), Flag(("-S",), "largest first"), Flag(("-r",), "in reverse order"),
                   Flag(("--block-size",), "sizes in units of K, M or G (with -l)", Arg("SIZE", TEXT)))),
    Command("cd", "alation_shell.commands.files:cd", "change the working directory", "cd [PATH]",
            args=(Arg("PATH", PATH, optional=True),)),
    Command("pwd", "alation_shell.commands.files:pwd", "print the working directory", "pwd", touches_data=False,
            flags=(Flag(("-L",), "the logical directory (the same in this chroot)"),
                   Flag(("-P",), "the physical directory (the same in this chroot)"))),
    Command("cat", "alation_shell.commands.files:cat", "print files", "cat PATH ...", args=(_FILES,)),
    Command("chown", "alation_shell.commands.files:chown", "change file owner and group (needs sudo)",
            "sudo chown [-R] OWNER[:GROUP] FILE ...", args=(Arg("OWNER[:GROUP]", TEXT), _FILES),
            flags=(Flag(("-R",), "directories and what they hold"),), sudo=True),
    Command("du", "alation_shell.commands.files:du", "disk usage of files and directories",
            "du [-s] [-h] [-d N|--max-depth=N] [PATH ...]", args=(_PATHS,),
            flags=(Flag(("-s",), "only the total of each PATH"), Flag(("-h",), "sizes like 4.0K and 12M"),
                   Flag(("-d",), "directories down to N levels below each PATH", Arg("N", TEXT),
                        aliases=("--max-depth",)))),
    Command("echo", "alation_shell.commands.text:echo", "print the arguments (bash's echo)",
            "echo [-neE] [STRING ...]"),
    Command("grep", "alation_shell.commands.grep:grep", "print the lines that match a pattern",
            "grep [-EFGHchilnoqsvwx] [-m NUM] [-e PATTERN ...] PATTERN [FILE ...]",
            args=(Arg("PATTERN", TEXT), _PATHS)),
    Command("cut", "alation_shell.commands.text:cut", "print selected fields or characters of each line",
            "cut -f LIST [-d DELIM] [-s] | -c LIST | -b LIST [--complement] [--output-delimiter=STR] [FILE ...]",
            args=(_PATHS,)),
    Command("tr", "alation_shell.commands.text:tr", "translate, squeeze or delete characters",
            "tr [-cdst] SET1 [SET2]"),
    Command("wc", "alation_shell.commands.text:wc", "count lines, words and bytes",
            "wc [-clmwL] [FILE ...]", args=(_PATHS,)),
    Command("head", "alation_shell.commands.text:head", "print the first lines of files",
            "head [-n [-]N | -c [-]N] [-qv] [FILE ...]", args=(_PATHS,)),
    Command("tail", "alation_shell.commands.text:tail", "print the last lines of files, or follow them (-f)",
            "tail [-n [+]N | -c [+]N] [-f] [-s SECONDS] [-qv] [FILE ...]", args=(_PATHS,)),
    Command("sort", "alation_shell.commands.text:sort", "sort lines (C locale)",
            "sort [-bdfnrsu] [-t SEP] [-k POS1[,POS2]] ... [FILE ...]", args=(_PATHS,)),
    Command("uniq", "alation_shell.commands.text:uniq", "collapse repeated lines",
            "uniq [-cdiu] [-f N] [-s N] [-w N] [FILE]", args=(_PATHS,)),
    Command("tee", "alation_shell.commands.text:tee", "copy standard input to standard output and files",
            "tee [-a] [FILE ...]", args=(_PATHS,)),
    Command("whoami", "alation_shell.commands.system:whoami", "print the current user", "whoami"),
    Command("id", "alation_shell.commands.system:id_", "print a user's uid, gid and groups",
            "id [-u|-g|-G] [-n] [USER]"),
    Command("hostname", "alation_shell.commands.system:hostname", "print the server's name or address",
            "hostname [-s|-f|-d|-i|-I]"),
    Command("date", "alation_shell.commands.system:date", "print the server's date and time (the virtual clock)",
            "date [-u] [-d @EPOCH] [-R | -I[TIMESPEC] | +FORMAT]"),
    Command("df", "alation_shell.commands.system:df", "free and used space of the server's disks",
            "df [-h|-k|-m|-B SIZE] [-T] [PATH ...]", args=(_PATHS,)),
    Command("ip", "alation_shell.commands.system:ip", "the server's network addresses and routes",
            "ip [-4|-6] addr|link|route [show [dev] IFACE]"),
    Command("su", "alation_shell.commands.supervisor:su", "become another user (sudo su - alation)",
            "sudo su [-] [USER] [-c COMMAND]", sudo=True),
    Command(
        "sim", "alation_shell.commands.sim:run",
        "the emulator's clock and backup timeline (clock, advance, backups, verify, reset)",
        "sim clock | sim advance DURATION | sim backups | sim verify [FILE] | sim reset",
        flags=(_HELP,),
        subcommands=(
            Subcommand("clock", "the virtual time, the backup schedule and the next backup's place in the cycle"),
            Subcommand("advance", "move the virtual clock forward (90m, 36h, 7d, 2w, 1d12h), running each day's "
                       "simulated catalog activity and every scheduled backup that falls due",
                       (Arg("DURATION", TEXT, example="7d"),)),
            Subcommand("backups", "the backups in /data2/backup as a timeline: time, the line joining each "
                       "incremental to its full, type, size bar, base full, a rule at each new cycle; --json: "
                       "label, time, kind, format, size, base, cycle, files for each",
                       (Arg("--json", WORD, choices=("--json",), optional=True),)),
            Subcommand("verify", "check every backup (or the one FILE belongs to): OK, or what is wrong",
                       (Arg("FILE", PATH, optional=True),)),
            Subcommand("reset", "remove every backup and put the clock and the backup cycle back to the start "
                       "(asks for YES; the catalog data and alation_conf settings stay as they are)"),
        ),
        addition=True,
    ),
    Command("help", "alation_shell.commands.builtins:help_", "list commands, or show one command's help",
            "help [COMMAND]", args=(Arg("COMMAND", COMMAND, optional=True),), addition=True, touches_data=False),
    Command("history", "alation_shell.commands.builtins:history", "show the commands typed in this session",
            "history [N]", args=(Arg("N", TEXT, optional=True),), touches_data=False),
    Command("clear", "alation_shell.commands.builtins:clear", "clear the screen", "clear", touches_data=False),
    Command("true", "alation_shell.commands.builtins:true_", "do nothing, successfully (`CMD || true`)", "true",
            touches_data=False),
    Command("false", "alation_shell.commands.builtins:false_", "do nothing, unsuccessfully (status 1)", "false",
            touches_data=False),
    Command(":", "alation_shell.commands.builtins:true_", "do nothing, successfully (as `true`)", ":",
            hidden=True, touches_data=False),
    Command("exit", "alation_shell.commands.builtins:exit_", "leave the Alation shell", "exit [STATUS]",
            args=(Arg("STATUS", TEXT, optional=True),), touches_data=False),
    Command("logout", "alation_shell.commands.builtins:exit_", "leave the Alation shell", "logout",
            hidden=True, touches_data=False),
))
"""The Alation shell's commands: the table a session has unless it is given another."""
