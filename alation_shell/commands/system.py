"""What an operator asks the emulated server about itself: `whoami`, `id`, `hostname`, `date`, `df`, `ip`, `su`.

The server is a RHEL-like host in UTC whose clock is the instance's virtual clock; its disks are the emulated
/data1 and /data2, sized as a small production server's and used as much as the instance's files use;
its network is a loopback and one interface, `eth0`, on a private subnet (the address the docs' 4.7-era
prompt shows, `ip-10-11-2-15`). Output layouts follow GNU coreutils and iproute2.
"""

from __future__ import annotations

import os

from alation_shell.commands.base import Context
from alation_shell.commands.text import options
from alation_shell.errors import ShellError, UsageError

# (name, uid, gid, supplementary groups): `alationadmin` can sudo (wheel), `alation` runs the application.
ACCOUNTS = {
    "root": (0, 0, ((0, "root"),)),
    "alation": (1000, 1000, ((1000, "alation"),)),
    "alationadmin": (1001, 1001, ((1001, "alationadmin"), (10, "wheel"))),
}
ADDRESS, PREFIX, GATEWAY = "10.11.2.15", 24, "10.11.2.1"
MAC = "0a:5c:21:7e:43:9b"
LINK_LOCAL = "fe80::85c:21ff:fe7e:439b"
GIB = 1 << 30
# Mount points of the emulated server: (device, type, size, where in the instance; None: the chroot's
# root, counting what is in neither data disk, plus BASE_USED for the OS and the Alation installation).
DISKS = (
    ("/dev/nvme0n1p1", "xfs", 50 * GIB, "/", None),
    ("/dev/nvme1n1", "xfs", 200 * GIB, "/data1", "data1"),
    ("/dev/nvme2n1", "xfs", 300 * GIB, "/data2", "data2"),  # ProServ's rule: backup disk >= 1.5 x data disk
)
BASE_USED = 9 * GIB + 870 * (1 << 20)
XFS_OVERHEAD = 140  # a fresh xfs shows about 1/140 of its size as used (its log and metadata)


def whoami(ctx: Context, args: list[str]) -> int:
    """The effective user: root under sudo, else the session's user."""
    _, operands = options(args, "", [])
    if operands:
        raise UsageError(f"extra operand '{operands[0]}'", exit_code=1)
    ctx.out("root" if ctx.as_root else ctx.session.user)
    return 0


def id_(ctx: Context, args: list[str]) -> int:
    """`id [-u|-g|-G] [-n] [USER]` as coreutils prints it."""
    opts, operands = options(args, "gGnur", ["group", "groups", "name", "user", "real"])
    longs = {"--group": "g", "--groups": "G", "--name": "n", "--user": "u", "--real": "r"}
    flags = {longs.get(f, f[1:]) for f, _ in opts}
    if len(operands) > 1:
        raise UsageError(f"extra operand '{operands[1]}'", exit_code=1)
    user = operands[0] if operands else ("root" if ctx.as_root else ctx.session.user)
    if user not in ACCOUNTS:
        raise ShellError(f"'{user}': no such user")
    uid, gid, groups = ACCOUNTS[user]
    group_name = groups[0][1]
    chosen = flags & {"u", "g", "G"}
    if len(chosen) > 1:
        raise UsageError("cannot print \"only\" of more than one choice", exit_code=1)
    if not chosen:
        if "n" in flags:
            raise UsageError("cannot print only names or real IDs in default format", exit_code=1)
        listed = ",".join(f"{g}({name})" for g, name in groups)
        ctx.out(f"uid={uid}({user}) gid={gid}({group_name}) groups={listed}")
    elif "u" in chosen:
        ctx.out(user if "n" in flags else str(uid))
    elif "g" in chosen:
        ctx.out(group_name if "n" in flags else str(gid))
    else:
        ctx.out(" ".join(name if "n" in flags else str(g) for g, name in groups))
    return 0


def hostname(ctx: Context, args: list[str]) -> int:
    """The host's name (`-s` short, `-f` full, `-i` / `-I` its address); setting it needs root."""
    opts, operands = options(args, "sfdiIA", ["short", "fqdn", "long", "domain", "ip-address", "all-ip-addresses"])
    name = ctx.session.hostname
    if operands:
        if not ctx.as_root:
            raise ShellError("you must be root to change the host name")
        raise ShellError("changing the host name is not supported in this emulator")
    flag = opts[-1][0] if opts else ""
    if flag in ("-s", "--short"):
        ctx.out(name.split(".")[0])
    elif flag in ("-d", "--domain"):
        ctx.out(name.partition(".")[2])
    elif flag in ("-i", "--ip-address"):
        ctx.out(ADDRESS)
    elif flag in ("-I", "--all-ip-addresses", "-A"):
        ctx.out(f"{ADDRESS} ")
    else:
        ctx.out(name)
    return 0


# date -------------------------------------------------------------------------------------------
DEFAULT_DATE_FORMAT = "%a %b %e %H:%M:%S %Z %Y"


def date(ctx: Context, args: list[str]) -> int:
    """The virtual clock's time (the server runs in UTC): `date`, `date -u`, `date +FORMAT`, `date -d @EPOCH`,
    `-R` (RFC 5322), `-I[date|hours|minutes|seconds|ns]` (ISO 8601)."""
    from datetime import UTC

    from alation_shell.node import clock

    # -I takes an optional value glued to it (`-Iseconds`), which getopt cannot express.
    iso = [a for a in args if a.startswith("-I") or a == "--iso-8601" or a.startswith("--iso-8601=")]
    opts, operands = options([a for a in args if a not in iso], "d:uRs:",
                             ["date=", "utc", "universal", "rfc-email", "rfc-2822", "set="])
    opts += [("-I", a.partition("=")[2] if a.startswith("--") else a[2:]) for a in iso]
    when = clock.now(ctx.instance)
    formats: list[str] = []
    for flag, value in opts:
        if flag in ("-d", "--date"):
            when = _parse_date(value)
        elif flag in ("-s", "--set"):
            raise ShellError(_CANNOT_SET)
        elif flag in ("-R", "--rfc-email", "--rfc-2822"):
            formats.append("%a, %d %b %Y %H:%M:%S %z")
        elif flag == "-I":
            formats.append(_iso_format(value or "date"))
    for operand in operands:
        if not operand.startswith("+"):
            raise ShellError(_CANNOT_SET)
        formats.append(operand[1:])
    if len(operands) > 1:
        raise UsageError(f"extra operand '{operands[1]}'", exit_code=1)
    if len(formats) > 1:
        raise UsageError("multiple output formats specified", exit_code=1)
    ctx.out(format_date(when.astimezone(UTC), formats[0] if formats else DEFAULT_DATE_FORMAT))
    return 0


_CANNOT_SET = "cannot set date: Operation not permitted (the emulator's clock moves with `sim advance`)"


def _iso_format(spec: str) -> str:
    formats = {"date": "%Y-%m-%d", "hours": "%Y-%m-%dT%H%:z", "minutes": "%Y-%m-%dT%H:%M%:z",
               "seconds": "%Y-%m-%dT%H:%M:%S%:z", "ns": "%Y-%m-%dT%H:%M:%S,%N%:z"}
    matches = [name for name in formats if name.startswith(spec)]
    if len(matches) != 1:
        raise UsageError(f"invalid argument '{spec}' for '--iso-8601'", exit_code=1)
    return formats[matches[0]]


def _parse_date(text: str):  # noqa: ANN202 - a datetime
    """`@EPOCH`, or an ISO date `YYYY-MM-DD[ HH:MM[:SS]]` (UTC): the forms of `date -d` the emulator reads."""
    from datetime import UTC, datetime

    if text.startswith("@"):
        try:
            return datetime.fromtimestamp(float(text[1:]), UTC)
        except (ValueError, OverflowError):
            raise ShellError(f"invalid date '{text}'") from None
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise ShellError(f"invalid date '{text}' (the emulator reads @EPOCH and YYYY-MM-DD [HH:MM[:SS]])") from None


def format_date(when, fmt: str) -> str:  # noqa: ANN001 - a UTC datetime
    """GNU date's `+FORMAT`: glibc's strftime conversions, plus GNU's `%N`, `%:z` and `%s`, in UTC."""
    import time

    parts: list[str] = []
    tm = when.utctimetuple()
    i, n = 0, len(fmt)
    while i < n:
        c = fmt[i]
        if c != "%" or i + 1 >= n:
            parts.append(c)
            i += 1
            continue
        j = i + 1
        while j < n and fmt[j] in "-_0^#":
            j += 1
        while j < n and fmt[j].isdecimal():
            j += 1
        colons = 0
        while j < n and fmt[j] == ":":
            colons += 1
            j += 1
        if j >= n:
            parts.append(fmt[i:])
            break
        conversion, spec = fmt[j], fmt[i:j + 1]
        width_text = "".join(ch for ch in fmt[i + 1:j] if ch.isdecimal())
        if conversion == "N":
            digits = f"{when.microsecond * 1000:09d}"
            parts.append(digits[: int(width_text)] if width_text else digits)
        elif conversion == "z" and colons:
            parts.append({1: "+00:00", 2: "+00:00:00", 3: "+00"}.get(colons, spec))
        elif conversion == "Z":
            parts.append("UTC")
        elif conversion == "s":
            parts.append(str(int(when.timestamp())))
        elif conversion == "%":
            parts.append("%")
        else:
            parts.append(time.strftime(spec, tm))
        i = j + 1
    return "".join(parts)


# df ---------------------------------------------------------------------------------------------
def df(ctx: Context, args: list[str]) -> int:
    """Disk space of the emulated server's filesystems (`/`, `/data1`, `/data2`), or of those holding each
    PATH: `-h` human sizes, `-k` (default) / `-m` / `-B SIZE` blocks, `-T` types."""
    from alation_shell.commands.files import _locate

    opts, operands = options(args, "hkmB:TP", ["human-readable", "block-size=", "print-type", "portability"])
    unit, suffix, human, types = 1024, "", False, False
    for flag, value in opts:
        if flag in ("-h", "--human-readable"):
            human = True
        elif flag == "-k":
            unit, suffix, human = 1024, "", False
        elif flag == "-m":
            unit, suffix, human = 1 << 20, "", False
        elif flag in ("-B", "--block-size"):
            unit, suffix = _block_size(value)
            human = False
        elif flag in ("-T", "--print-type"):
            types = True
    chosen = list(DISKS)
    status = 0
    if operands:
        chosen = []
        for operand in operands:
            location = _locate(ctx, operand)
            if not os.path.lexists(location.real):
                ctx.err(f"df: {operand}: No such file or directory")
                status = 1
                continue
            mount = max((d for d in DISKS if location.shell == d[3] or location.shell.startswith(d[3].rstrip("/")
                                                                                                 + "/")),
                        key=lambda d: len(d[3]))
            chosen.append(mount)
    if not chosen:
        return status
    rows = []
    for device, fstype, size, mount, sub in chosen:
        used = _used(ctx, sub) + size // XFS_OVERHEAD
        avail = size - used
        percent = f"{-(-used * 100 // (used + avail))}%"
        rows.append([device] + ([fstype] if types else []) +
                    [_df_size(n, unit, suffix, human) for n in (size, used, avail)] + [percent, mount])
    ctx.stdout.write(df_table(rows, human=human, types=types, unit=unit, suffix=suffix))
    return status


def _block_size(value: str) -> tuple[int, str]:
    """`-B G`, `-BM`, `-B 1M`, `-B 1024`: (bytes per block, the suffix printed after each number: the unit's
    letter when it was given without a number, as GNU df prints `-BG` sizes as `252G`)."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    digits = value[:len(value) - len(value.lstrip("0123456789"))]
    letter = value[len(digits):].upper()
    if letter not in units or not value or (digits and int(digits) == 0):
        raise UsageError(f"invalid -B argument '{value}'", exit_code=1)
    return (int(digits) if digits else 1) * units[letter], "" if digits else letter


def _used(ctx: Context, sub: str | None) -> int:
    """Bytes the instance's files take on a disk (`sub`), or on the root (everything else, plus the OS)."""
    root = ctx.instance.root
    if sub is not None:
        return _disk_usage(root / sub)
    total = BASE_USED
    for entry in os.scandir(root):
        if entry.name not in ("data1", "data2"):
            total += _disk_usage(root / entry.name)
    return total


def _disk_usage(path) -> int:  # noqa: ANN001 - a Path
    total = 0
    try:
        st = os.lstat(path)
    except OSError:
        return 0
    total += st.st_blocks * 512
    if os.path.isdir(path) and not os.path.islink(path):
        for dirpath, dirnames, filenames in os.walk(path):
            for name in dirnames + filenames:
                try:
                    total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
                except OSError:
                    continue
    return total


def _df_size(value: int, unit: int, suffix: str, human: bool) -> str:
    from alation_shell.commands.files import human as human_size

    if human:
        return human_size(value)
    return f"{-(-value // unit)}{suffix}"


def df_table(rows: list[list[str]], *, human: bool, types: bool, unit: int, suffix: str) -> str:
    """GNU df's table: each column as wide as its widest cell or its minimum (Filesystem 14, Type 4, sizes 5,
    Use% 4); the device, type and mount point left-aligned, numbers right-aligned; one space between."""
    if human:
        size_header = "Size"
    elif suffix:
        size_header = f"1{suffix}-blocks"
    else:
        size_header = {1024: "1K-blocks", 1 << 20: "1M-blocks", 1 << 30: "1G-blocks"}.get(unit, f"{unit}-blocks")
    headers = ["Filesystem"] + (["Type"] if types else []) + [size_header, "Used", "Avail" if human else "Available",
                                                              "Use%", "Mounted on"]
    minimum = [14] + ([4] if types else []) + [5, 5, 5, 4, 0]
    left = [True] + ([True] if types else []) + [False, False, False, False, True]
    table = [headers, *rows]
    widths = [max(minimum[c], *(len(r[c]) for r in table)) for c in range(len(headers))]
    lines = []
    for row in table:
        cells = []
        for c, cell in enumerate(row):
            if c == len(row) - 1:
                cells.append(cell)
            else:
                cells.append(cell.ljust(widths[c]) if left[c] else cell.rjust(widths[c]))
        lines.append(" ".join(cells))
    return "\n".join(lines) + "\n"


# ip ---------------------------------------------------------------------------------------------
def ip(ctx: Context, args: list[str]) -> int:
    """iproute2's `ip addr [show [dev] IFACE]` (with -4 / -6), `ip link`, `ip route` of the emulated host."""
    family = ""
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag in ("-4", "-6"):
            family = flag[1]
        elif flag in ("-h", "-help", "--help"):
            ctx.out("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }")
            ctx.out("where  OBJECT := { address | link | route }    OPTIONS := { -4 | -6 }")
            return 0
        else:
            raise ShellError(f'Option "{flag}" is unknown, try "ip -help".', exit_code=255)
    if not args:
        raise ShellError("an OBJECT is needed: address, link or route (ip addr)", exit_code=255)
    obj, rest = args[0], args[1:]
    if "address".startswith(obj):
        return _ip_addr(ctx, rest, family)
    if "link".startswith(obj):
        return _ip_addr(ctx, rest, "link")
    if "route".startswith(obj) and obj:
        if rest and rest[0] not in ("show", "list"):
            raise ShellError("changing routes is not supported in this emulator", exit_code=2)
        ctx.out(f"default via {GATEWAY} dev eth0 proto dhcp src {ADDRESS} metric 100")
        network = ADDRESS.rsplit(".", 1)[0] + ".0"
        ctx.out(f"{network}/{PREFIX} dev eth0 proto kernel scope link src {ADDRESS} metric 100")
        return 0
    raise ShellError(f'Object "{obj}" is unknown, try "ip help".', exit_code=1)


def _ip_addr(ctx: Context, rest: list[str], family: str) -> int:
    if rest and rest[0] in ("show", "list", "sh", "s", "ls", "l"):
        rest = rest[1:]
    elif rest:
        raise ShellError(f'Command "{rest[0]}" is unknown, try "ip address help".' if rest[0] != "add"
                         else "RTNETLINK answers: Operation not permitted", exit_code=255 if rest[0] != "add" else 2)
    if rest and rest[0] == "dev":
        rest = rest[1:]
    wanted = rest[0] if rest else None
    if wanted is not None and wanted not in ("lo", "eth0"):
        raise ShellError(f'Device "{wanted}" does not exist.', exit_code=1)
    broadcast = ADDRESS.rsplit(".", 1)[0] + ".255"
    interfaces = (
        ("lo", "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000",
         "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
         ["    inet 127.0.0.1/8 scope host lo", "       valid_lft forever preferred_lft forever"],
         ["    inet6 ::1/128 scope host ", "       valid_lft forever preferred_lft forever"]),
        ("eth0", "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9001 qdisc mq state UP group default qlen 1000",
         f"    link/ether {MAC} brd ff:ff:ff:ff:ff:ff",
         [f"    inet {ADDRESS}/{PREFIX} brd {broadcast} scope global dynamic noprefixroute eth0",
          "       valid_lft 2847sec preferred_lft 2847sec"],
         [f"    inet6 {LINK_LOCAL}/64 scope link noprefixroute ",
          "       valid_lft forever preferred_lft forever"]),
    )
    for name, header, link, inet, inet6 in interfaces:
        if wanted is not None and name != wanted:
            continue
        ctx.out(header)
        if family == "link":
            ctx.out(link)
            continue
        if not family:
            ctx.out(link)
        if family in ("", "4"):
            for line in inet:
                ctx.out(line)
        if family in ("", "6"):
            for line in inet6:
                ctx.out(line)
    return 0
