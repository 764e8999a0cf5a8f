"""File commands inside the emulated chroot: `ls`, `cd`, `pwd`, `cat`, `du`, `chown` (`tail` is a text tool).

Every path goes through `Instance.resolve` (chroot semantics), so `..` stops at `/` and a symlink, even one
pointing at the host's /etc, lands inside the instance. Directory walks never follow symlinks. Messages
and output layouts follow GNU coreutils and bash; file names are shown quoted as GNU's do (display.py), so a
name holding ESC or a newline shows as text. As bash would, `~` and glob patterns (`*`, `?`, `[...]`)
are expanded here, since the session splits words without expanding them.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import time
from pathlib import Path

from alation_shell.commands.base import Context
from alation_shell.display import printable, quote, quote_always
from alation_shell.errors import ShellError, UsageError
from alation_shell.instance import Location

OWNER = GROUP = "alation"
SIX_MONTHS = 182 * 86400  # GNU ls shows the year instead of the time for files older than this
CHUNK = 1 << 16
_GLOB = frozenset("*?[")


# Paths ------------------------------------------------------------------------------------------
def _home(ctx: Context) -> str:
    user = ctx.session.user
    return "/root" if user == "root" else f"/home/{user}"


def _tilde(ctx: Context, path: str) -> str:
    if path == "~" or path.startswith("~/"):
        return _home(ctx) + path[1:]
    return path


def _locate(ctx: Context, path: str, *, follow: bool = True) -> Location:
    """Where `path` is; with `follow=False` a final symlink is the link itself, not what it points at."""
    path = _tilde(ctx, path)
    head, _, tail = path.rpartition("/")
    if follow or tail in ("", ".", ".."):
        return ctx.instance.resolve(path, ctx.session.cwd)
    parent = ctx.instance.resolve(head or ("/" if path.startswith("/") else "."), ctx.session.cwd)
    return Location(parent.shell.rstrip("/") + "/" + tail, parent.real / tail)


def _expand(ctx: Context, operands: list[str]) -> list[str]:
    """Expand `~` and glob patterns like bash: sorted matches, the pattern itself when nothing matches."""
    expanded: list[str] = []
    for operand in operands:
        operand = _tilde(ctx, operand)
        if _GLOB.isdisjoint(operand):
            expanded.append(operand)
            continue
        prefix = "/" if operand.startswith("/") else ""
        candidates = [prefix]
        for part in (p for p in operand.split("/") if p):
            if _GLOB.isdisjoint(part):
                candidates = [c + part + "/" for c in candidates]
                continue
            matched = []
            for base in candidates:
                real = ctx.instance.resolve(base or ".", ctx.session.cwd).real
                try:
                    names = sorted(os.listdir(real))
                except OSError:
                    continue
                shown = [n for n in names if part.startswith(".") or not n.startswith(".")]
                matched.extend(base + n + "/" for n in fnmatch.filter(shown, part))
            candidates = matched
        found = [c.rstrip("/") or "/" for c in candidates]
        found = [c for c in found if os.path.lexists(_locate(ctx, c, follow=False).real)]
        expanded.extend(found or [operand])
    return expanded


def _flags(ctx: Context, args: list[str]) -> tuple[set[str], list[str]]:
    """Split `-lah`-style clusters of the command's one-letter flags from operands (`--` ends the flags)."""
    assert ctx.command is not None
    allowed = ctx.command.letters
    flags: set[str] = set()
    operands: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "--":
            operands.extend(it)
            break
        if arg.startswith("-") and len(arg) > 1:
            for letter in arg[1:]:
                if letter not in allowed:
                    raise UsageError(f"invalid option -- '{letter}'")
                flags.add(letter)
        else:
            operands.append(arg)
    return flags, operands


def human(size: int) -> str:
    """GNU's `-h` size: 512, 4.0K, 12M (rounded up, one decimal below 10)."""
    if size < 1024:
        return str(size)
    value = float(size)
    for unit in "KMGTPE":
        value /= 1024
        rounded = -(-value * 10 // 1) / 10 if value < 10 else float(-(-value // 1))
        if rounded < 1024 or unit == "E":
            return f"{rounded:.1f}{unit}" if rounded < 10 else f"{rounded:.0f}{unit}"
    raise AssertionError("unreachable")


# pwd and cd -------------------------------------------------------------------------------------
def pwd(ctx: Context, args: list[str]) -> int:
    """Print the working directory (bash ignores operands; -L and -P change nothing in a chroot)."""
    _flags(ctx, args)
    ctx.out(ctx.session.cwd)
    return 0


def cd(ctx: Context, args: list[str]) -> int:
    """Change the working directory; no PATH means the user's home, `-` the previous directory (printed)."""
    if len(args) > 1:
        raise ShellError("too many arguments")
    back = args == ["-"]
    if back and ctx.session.oldpwd is None:
        raise ShellError("OLDPWD not set")
    target = ctx.session.oldpwd if back else (args[0] if args else _home(ctx))
    assert target is not None
    location = _locate(ctx, target)
    try:
        mode = os.stat(location.real).st_mode
    except OSError as exc:
        raise ShellError(f"{printable(target)}: {exc.strerror}") from None
    if not stat.S_ISDIR(mode):
        raise ShellError(f"{printable(target)}: Not a directory")
    ctx.session.oldpwd = ctx.session.cwd
    ctx.session.cwd = location.shell
    if back:
        ctx.out(location.shell)
    return 0


# ls ---------------------------------------------------------------------------------------------
def ls(ctx: Context, args: list[str]) -> int:
    """List directories and files like GNU ls: `-l` long format, `-a` dot files, `-h` human sizes,
    `--block-size=K|M|G`, `-t` newest first, `-S` largest first, `-r` reversed."""
    block, shorts = "", []
    rest = iter(args)
    for arg in rest:
        if arg == "--block-size" or arg.startswith("--block-size="):
            value = arg.partition("=")[2] if "=" in arg else next(rest, "")
            if value.upper() not in ("K", "M", "G", "KB", "MB", "GB"):
                raise UsageError(f"invalid --block-size argument '{value}' (the emulator takes K, M or G)")
            block = value.upper()[0]
        elif arg.startswith("--") and arg != "--":
            raise UsageError(f"unrecognized option '{arg}'")
        else:
            shorts.append(arg)
            if arg.startswith("-") and "h" in arg:
                block = "h"  # the later of -h and --block-size wins, as in GNU ls
    flags, operands = _flags(ctx, shorts)
    flags.discard("h")
    if block:
        flags.add(block)
    long = "l" in flags
    operands = _expand(ctx, operands) or ["."]
    status = 0
    files: list[tuple[str, Path]] = []
    directories: list[tuple[str, Location]] = []
    for operand in operands:
        # Without -l, GNU ls lists the directory a command-line symlink points at; with -l, the link.
        location = _locate(ctx, operand, follow=not long)
        try:
            mode = os.lstat(location.real).st_mode
        except OSError as exc:
            ctx.err(f"ls: cannot access {quote_always(operand)}: {exc.strerror}")
            status = 2
            continue
        if stat.S_ISDIR(mode):
            directories.append((operand, location))
        else:
            files.append((operand, location.real))
    if files:
        _print_entries(ctx, _order(ctx, sorted(files), flags), flags, total=False)
    headers = len(operands) > 1
    for i, (operand, location) in enumerate(sorted(directories, key=lambda d: d[0])):
        if files or i:
            ctx.out()
        if headers:
            ctx.out(f"{_shown(ctx, operand)}:")
        try:
            entries = _directory_entries(ctx, location, "a" in flags)
        except OSError as exc:
            ctx.err(f"ls: cannot open directory {quote_always(operand)}: {exc.strerror}")
            status = 2
            continue
        _print_entries(ctx, _order(ctx, entries, flags), flags, total=long)
    return status


def _order(ctx: Context, entries: list[tuple[str, Path]], flags: set[str]) -> list[tuple[str, Path]]:
    """Entries (sorted by name) in ls's order: by time (`-t`, newest first) or size (`-S`, largest first), ties
    by name; all reversed with `-r`."""
    if "t" in flags or "S" in flags:
        def key(entry: tuple[str, Path]) -> int:
            try:
                st = os.lstat(entry[1])
            except OSError:
                return 0
            return -(st.st_size if "S" in flags else int(_virtual_mtime(entry[1], st, now) * 1e9))

        now = _clock_now(ctx)
        entries = sorted(entries, key=key)  # stable: equal keys keep the name order
    return entries[::-1] if "r" in flags else entries


def _directory_entries(ctx: Context, location: Location, all_: bool) -> list[tuple[str, Path]]:
    names = sorted(os.listdir(location.real))
    entries = [(name, location.real / name) for name in names if all_ or not name.startswith(".")]
    if all_:
        # `..` of the chroot's root is the root itself, never the host directory above the instance.
        parent = ctx.instance.resolve(location.shell + "/..").real
        entries[:0] = [(".", location.real), ("..", parent)]
    return entries


def _shown(ctx: Context, name: str) -> str:
    """A name as ls shows it: quoted as GNU ls quotes it on a terminal; on a pipe as is, unless it holds a
    character that is not printable (GNU ls prints those raw there; here they would reach a terminal)."""
    return quote(name) if ctx.interactive else printable(name)


def _aligned(names: list[str]) -> list[str]:
    """GNU ls on a terminal: when some names are quoted, the others get a space in front, so names line up."""
    if not any(name[:1] in ("'", '"') for name in names):
        return names
    return [name if name[:1] in ("'", '"') else " " + name for name in names]


def _print_entries(ctx: Context, entries: list[tuple[str, Path]], flags: set[str], *, total: bool) -> None:
    if "l" not in flags:
        names = [_shown(ctx, name) for name, _ in entries]
        if ctx.interactive:
            names = _aligned(names)
            for line in _columns(names, ctx.terminal.width):
                ctx.out(line)
        else:
            for name in names:
                ctx.out(name)
        return
    rows = []
    blocks = 0
    now = _clock_now(ctx)
    for name, real in entries:
        try:
            st = os.lstat(real)
        except OSError as exc:
            ctx.err(f"ls: cannot access {quote_always(name)}: {exc.strerror}")
            continue
        blocks += st.st_blocks
        size = _size(st.st_size, flags)
        target = f" -> {_shown(ctx, os.readlink(real))}" if stat.S_ISLNK(st.st_mode) else ""
        when = _virtual_mtime(real, st, now)
        rows.append((stat.filemode(st.st_mode), str(st.st_nlink), size, _date(when, now), _shown(ctx, name),
                     target))
    if ctx.interactive:
        for i, name in enumerate(_aligned([row[4] for row in rows])):
            rows[i] = (*rows[i][:4], name, rows[i][5])
    if total:
        kib = -(-blocks * 512 // 1024)  # GNU counts the total in 1K blocks first
        if "h" in flags:
            ctx.out(f"total {human(blocks * 512)}")
        else:
            ctx.out(f"total {_size(kib * 1024, flags) if flags & _UNITS.keys() else kib}")
    links = max((len(r[1]) for r in rows), default=1)
    sizes = max((len(r[2]) for r in rows), default=1)
    for mode, nlink, size, date, shown, target in rows:
        ctx.out(f"{mode} {nlink:>{links}} {OWNER} {GROUP} {size:>{sizes}} {date} {shown}{target}")


_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _size(size: int, flags: set[str]) -> str:
    """A size as `ls -l` shows it: bytes, `-h` human, or `--block-size=M` whole units rounded up (`3M`)."""
    if "h" in flags:
        return human(size)
    for letter, unit in _UNITS.items():
        if letter in flags:
            return f"{-(-size // unit)}{letter}"
    return str(size)


def _clock_now(ctx: Context) -> float:
    """The virtual clock's now, as `date` shows it: the files the emulator writes carry its times."""
    from alation_shell.node import clock

    return clock.timestamp(ctx.instance)


def _virtual_mtime(real: Path, st: os.stat_result, now: float) -> float:
    """The time `ls` shows for an entry. A directory changes with every entry added or removed in it, by the
    host's clock (a backup's staging, a state file, SQLite's journal), so one dated in the virtual future is
    shown as its newest entry dated on the virtual clock (a directory's time is when an entry last changed),
    or as the seeded instance's time when it holds none. Any other entry: its own time."""
    if not stat.S_ISDIR(st.st_mode) or st.st_mtime <= now + 60:
        return st.st_mtime
    from alation_shell.node.catalog import SEEDED_AT

    newest = float(SEEDED_AT)
    try:
        with os.scandir(real) as entries:
            for entry in entries:
                try:
                    when = entry.stat(follow_symlinks=False).st_mtime
                except OSError:
                    continue
                if newest < when <= now + 60:
                    newest = when
    except OSError:
        pass
    return newest


def _date(mtime: float, now: float) -> str:
    t = time.gmtime(mtime)  # the emulated server runs on UTC, as `date` says
    recent = now - SIX_MONTHS < mtime <= now + 3600
    when = time.strftime("%H:%M", t) if recent else f" {t.tm_year}"
    return f"{time.strftime('%b', t)} {t.tm_mday:>2} {when}"


def _columns(names: list[str], width: int) -> list[str]:
    """GNU ls's column layout: names down the columns, as many columns as fit the width."""
    if not names:
        return []
    most = max(1, (width + 2) // (min(len(n) for n in names) + 2))
    for cols in range(min(most, len(names)), 0, -1):
        rows = -(-len(names) // cols)
        columns = [names[c * rows:(c + 1) * rows] for c in range(-(-len(names) // rows))]
        widths = [max(len(n) for n in column) for column in columns]
        if cols == 1 or sum(widths) + 2 * (len(columns) - 1) <= width:
            break
    lines = []
    for r in range(rows):
        cells = [(column[r], w) for column, w in zip(columns, widths, strict=True) if r < len(column)]
        lines.append("  ".join(name.ljust(w) for name, w in cells).rstrip())
    return lines


# cat --------------------------------------------------------------------------------------------
def _open_file(ctx: Context, path: str) -> tuple[Path | None, str]:
    """The real path of a regular file, or None and the reason (`No such file or directory`, ...)."""
    real = _locate(ctx, path).real
    try:
        mode = os.stat(real).st_mode
    except OSError as exc:
        return None, exc.strerror or str(exc)
    if stat.S_ISDIR(mode):
        return None, "Is a directory"
    if not stat.S_ISREG(mode):
        return None, "not a regular file"  # a FIFO would block the shell forever
    return real, ""


def cat(ctx: Context, args: list[str]) -> int:
    """Print files; bytes that are not UTF-8 print as U+FFFD."""
    import codecs

    _, operands = _flags(ctx, args)
    if not operands:
        if ctx.stdin is None:
            raise UsageError("a FILE is needed (nothing is piped in, and the emulator does not read the terminal)")
        operands = ["-"]
    status = 0
    for path in _expand(ctx, operands):
        if path == "-" and ctx.stdin is not None:
            ctx.stdout.write(ctx.stdin)
            continue
        real, reason = _open_file(ctx, path)
        if real is None:
            ctx.err(f"cat: {quote(path)}: {reason}")
            status = 1
            continue
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        with open(real, "rb") as f:
            while chunk := f.read(CHUNK):
                ctx.stdout.write(decoder.decode(chunk))
        ctx.stdout.write(decoder.decode(b"", final=True))
    return status


# du ---------------------------------------------------------------------------------------------
def du(ctx: Context, args: list[str]) -> int:
    """Disk usage in 1K blocks like GNU du: every directory below each PATH (`-s`: only the totals;
    `--max-depth=N` / `-d N`: directories down to N levels below)."""
    max_depth, shorts = None, []
    rest = iter(args)
    for arg in rest:
        if arg in ("-d", "--max-depth") or arg.startswith("--max-depth="):
            value = arg.partition("=")[2] if "=" in arg else next(rest, "")
        elif arg.startswith("-d") and not arg.startswith("--"):
            value = arg[2:]
        elif arg.startswith("--") and arg != "--":
            raise UsageError(f"unrecognized option '{arg}'")
        else:
            shorts.append(arg)
            continue
        if not value.isdecimal():
            raise UsageError(f"invalid maximum depth '{value}'")
        max_depth = int(value)
    flags, operands = _flags(ctx, shorts)
    if "s" in flags and max_depth not in (None, 0):
        raise UsageError(f"summarizing conflicts with --max-depth={max_depth}")
    operands = _expand(ctx, operands) or ["."]
    status = 0
    seen: set[tuple[int, int]] = set()
    for operand in operands:
        location = _locate(ctx, operand, follow=False)
        try:
            st = os.lstat(location.real)
        except OSError as exc:
            ctx.err(f"du: cannot access {quote_always(operand)}: {exc.strerror}")
            status = 1
            continue
        errors: list[str] = []
        _usage(ctx, location.real, operand, st, flags, seen, errors, 0 if "s" in flags else max_depth)
        for message in errors:
            ctx.err(message)
        status = status or (1 if errors else 0)
    return status


def _usage(
    ctx: Context, real: Path, shown: str, st: os.stat_result, flags: set[str], seen: set[tuple[int, int]],
    errors: list[str], max_depth: int | None = None,
) -> None:
    """Print the usage of `real` (`st` its lstat) and of every directory below it down to `max_depth` levels
    (None: all), each after the directories in it, as GNU du does; hard links are counted once. A loop, not a
    recursion: a tree can be deeper than Python's recursion limit."""

    def counted(st: os.stat_result) -> bool:
        if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) in seen:
                return False
            seen.add((st.st_dev, st.st_ino))
        return True

    def opened(real: Path, shown: str, st: os.stat_result) -> list:
        """A directory to go through: [real, shown, blocks so far, names still to visit (last first)]."""
        try:
            names = sorted(os.listdir(real), reverse=True)
        except OSError as exc:
            errors.append(f"du: cannot read directory {quote_always(shown)}: {exc.strerror}")
            names = []
        return [real, shown, st.st_blocks, names]

    def report(blocks: int, shown: str) -> None:
        size = human(blocks * 512) if "h" in flags else str(-(-blocks * 512 // 1024))
        ctx.out(f"{size}\t{printable(shown)}")

    if not stat.S_ISDIR(st.st_mode):
        report(st.st_blocks if counted(st) else 0, shown)
        return
    stack = [opened(real, shown, st)]
    while stack:
        directory = stack[-1]
        if directory[3]:
            name = directory[3].pop()
            child, child_shown = directory[0] / name, f"{directory[1].rstrip('/')}/{name}"
            try:
                child_st = os.lstat(child)
            except OSError as exc:
                errors.append(f"du: cannot access {quote_always(child_shown)}: {exc.strerror}")
                continue
            if stat.S_ISDIR(child_st.st_mode):
                stack.append(opened(child, child_shown, child_st))
            elif counted(child_st):
                directory[2] += child_st.st_blocks
            continue
        stack.pop()
        if not stack or max_depth is None or len(stack) <= max_depth:
            report(directory[2], directory[1])
        if stack:
            stack[-1][2] += directory[2]


# chown ------------------------------------------------------------------------------------------
USERS = ("alation", "alationadmin", "root")


def chown(ctx: Context, args: list[str]) -> int:
    """`chown [-R] OWNER[:GROUP] FILE...`: restore procedures hand tarballs to `alation` before restoring.

    Every file of the emulated chroot already belongs to `alation`, so this checks the owner and the files
    and reports what it would change, but changes nothing on the host.
    """
    flags, operands = _flags(ctx, args)
    if len(operands) < 2:
        raise UsageError("missing operand")
    owner, _, group = operands[0].partition(":")
    for name, what in ((owner, "user"), (group, "group")):
        if name and name not in USERS:
            raise ShellError(f"invalid {what}: {quote_always(operands[0])}")
    if not ctx.as_root:
        raise ShellError(f"changing ownership of {quote_always(operands[1])}: Operation not permitted (use sudo)")
    status = 0
    for operand in _expand(ctx, operands[1:]):
        if not os.path.lexists(_locate(ctx, operand, follow=False).real):
            ctx.err(f"chown: cannot access {quote_always(operand)}: No such file or directory")
            status = 1
    return status
