"""`alation_conf`: read and set configuration parameters, as the real tool does, plus marked additions."""

from __future__ import annotations

import importlib

from alation_shell.commands.base import Context
from alation_shell.config.catalog import Parameter
from alation_shell.errors import UsageError

HELP = """\
usage: alation_conf NAME                 print NAME = VALUE (a partial NAME prints every key containing it)
       alation_conf NAME -s VALUE [NAME -s VALUE ...]
       alation_conf -s VALUE NAME        set; a call is all-or-nothing

Reads print one `key = value` line per parameter; a set prints the new line and, when the change needs a
restart to take effect, a note on stderr naming it.

Additions of this emulator (not in the real alation_conf):
"""  # then the flags of modes of their own, as the table declares them

# What setting a parameter sets off beyond the value itself (the catalog's `effect` field).
EFFECTS = {"new_backup_cycle": "alation_shell.backup.cycle:start_new_cycle"}


def run(ctx: Context, args: list[str]) -> int:
    """Entry point of `alation_conf` inside the shell and as a standalone console command."""
    if not args:
        raise UsageError("missing parameter name (`alation_conf --help` for help)")
    flag = args[0]
    if flag in ("-h", "--help"):
        from alation_shell.commands.builtins import described

        ctx.stdout.write(HELP)
        assert ctx.command is not None
        for line in described((f.shown, f.about) for f in ctx.command.flags if f.alone):
            ctx.out(line)
        return 0
    if flag in ("-l", "--list"):
        if len(args) > 2:
            raise UsageError("--list takes at most one PATTERN")
        return _list(ctx, args[1] if len(args) == 2 else "")
    if flag == "--describe":
        if len(args) != 2:
            raise UsageError("--describe takes one parameter NAME")
        return _describe(ctx, args[1])
    if flag == "--reset":
        if len(args) < 2:
            raise UsageError("--reset takes one or more parameter NAMEs")
        return _reset(ctx, args[1:])
    if flag == "--changed":
        if len(args) != 1:
            raise UsageError("--changed takes no argument")
        return _changed(ctx)
    reads, sets = _parse(args)
    if sets:
        return _set(ctx, sets)
    return _read(ctx, reads)


def _parse(args: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Split the arguments into names to read and (name, value) pairs to set.

    Accepted: `NAME -s VALUE`, `-s VALUE NAME`, several pairs, or names alone; not reads and sets mixed.
    """
    reads: list[str] = []
    sets: list[tuple[str, str]] = []
    name: str | None = None
    value: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-s", "--set"):
            if i + 1 >= len(args):
                raise UsageError(f"{arg} needs a VALUE")
            if value is not None:
                raise UsageError(f"two values in a row ({value!r}, {args[i + 1]!r}) with no NAME between")
            if name is not None:
                sets.append((name, args[i + 1]))
                name = None
            else:
                value = args[i + 1]
            i += 2
            continue
        if arg.startswith("-") and len(arg) > 1:
            raise UsageError(f"unknown option {arg!r}")
        if value is not None:
            sets.append((arg, value))
            value = None
        else:
            if name is not None:
                reads.append(name)
            name = arg
        i += 1
    if value is not None:
        raise UsageError(f"-s {value!r} is missing its parameter NAME")
    if name is not None:
        reads.append(name)
    if reads and sets:
        raise UsageError(f"{reads[0]!r} has no -s VALUE; read and set in separate calls")
    return reads, sets


def _line(param: Parameter, value: object) -> str:
    return f"{param.name} = {param.format(value)}"


def _read(ctx: Context, names: list[str]) -> int:
    catalog = ctx.registry.catalog
    values = ctx.registry.changed()
    matched: list[list[Parameter]] = []
    for name in names:
        exact = catalog.get(name)
        found = [exact] if exact is not None else catalog.search(name)
        if not found:
            catalog.lookup(name)  # raises UnknownParameter with close matches
        matched.append(found)
    for found in matched:
        for param in found:
            ctx.out(_line(param, values.get(param.name, param.default)))
    return 0


def _set(ctx: Context, pairs: list[tuple[str, str]]) -> int:
    _check_pending(ctx, [name for name, _ in pairs])
    changed = ctx.registry.set_many(pairs)
    for param, value in changed:
        ctx.out(_line(param, value))
    _after_change(ctx, [param for param, _ in changed])
    return 0


def _reset(ctx: Context, names: list[str]) -> int:
    _check_pending(ctx, names)
    params = ctx.registry.reset(names)
    for param in params:
        ctx.out(_line(param, param.default))
    _after_change(ctx, params)
    return 0


def _check_pending(ctx: Context, names: list[str]) -> None:
    """Before a change that needs a restart: read the pending restarts it adds to, so that a damaged file stops
    the change (StateCorrupt) instead of failing once the values are set."""
    if any((param := ctx.registry.catalog.get(name)) is not None and param.restart for name in names):
        from alation_shell.node import supervisord

        supervisord.pending_restarts(ctx.instance)


def _after_change(ctx: Context, params: list[Parameter]) -> None:
    """Date the configuration file on the virtual clock, record the restarts the change needs (and say so),
    and set off the parameters' effects."""
    from alation_shell.node import clock
    from alation_shell.node.layout import CONF_FILE

    if params and ctx.instance.conf_file.exists():
        ctx.instance.set_mtime(CONF_FILE, clock.timestamp(ctx.instance))
    by_restart: dict[str, list[str]] = {}
    for param in params:
        if param.restart:
            by_restart.setdefault(param.restart, [])
            if param.name not in by_restart[param.restart]:
                by_restart[param.restart].append(param.name)
    if by_restart:
        from alation_shell.node import supervisord

        for restart, names in by_restart.items():
            supervisord.add_pending_restart(ctx.instance, restart, names)
            ctx.err("note: " + ctx.registry.catalog.restart_note(restart, names))
    for effect in dict.fromkeys(p.effect for p in params if p.effect):
        module, func = EFFECTS[effect].split(":")
        getattr(importlib.import_module(module), func)(ctx.instance)


def _list(ctx: Context, pattern: str) -> int:
    catalog = ctx.registry.catalog
    params = catalog.search(pattern) if pattern else sorted(catalog.parameters, key=lambda p: p.name)
    if not params:
        catalog.lookup(pattern)
    values = ctx.registry.changed()
    for param in params:
        ctx.out(_line(param, values.get(param.name, param.default)))
    return 0


def _changed(ctx: Context) -> int:
    catalog = ctx.registry.catalog
    values = ctx.registry.changed()
    for name in sorted(values):
        ctx.out(_line(catalog.lookup(name), values[name]))
    if not values:
        ctx.err("every parameter has its default value")
    return 0


def _describe(ctx: Context, name: str) -> int:
    catalog = ctx.registry.catalog
    param = catalog.get(name)
    if param is None:
        partial = catalog.search(name) if name else []
        if len(partial) != 1:
            catalog.lookup(name)  # UnknownParameter: the names that match, or the closest
        param = partial[0]  # a partial name that matches one parameter only: that one
    current = ctx.registry.get(param.name)
    restart = catalog.restart_hint(param.restart) if param.restart else "none needed"
    origin = "the emulator's own setting" if param.emulator else f"Alation, known from {source_in_words(param.source)}"
    rows = [
        ("type", f"{param.type}: {param.expected()}"),
        ("default", param.format(param.default)),
        ("current", param.format(current)),
        ("restart", restart),
        ("origin", origin),
    ]
    if param.aliases:
        rows.append(("aliases", ", ".join(param.aliases)))
    ctx.out(param.name)
    for label, text in rows:
        ctx.out(f"  {label + ':':<9} {text}")
    ctx.out(f"  {param.description}")
    return 0


# Where a parameter is known from, in words: the reference's source tags (`docs S12`, `scripts C1, C5`) mean
# nothing to an operator. Titles from ../shared/reference/alation-shell.md, section 0.
_DOCS = {
    "S1": "Set Up a Custom Backup Schedule", "S2": "Manage Postgres Backups Separately",
    "S3": "Backup V1 Process", "S6": "IBM Manta Flow – Alation requirements",
    "S12": "Disable or Enable User Credentials Storage", "S13": "Elasticsearch Upgrade to 7.4 FAQ",
    "S14": "Configure Encryption for Downloadable Logs", "S15": "Enable Pagination for Lineage",
    "S16": "Modifying the Number of Nodes Displayed in Lineage Diagrams",
    "S17": "Enable Lineage Frameworks", "S18": "Set up Replication on HA Pair", "A3": "Enable the Viewer Role",
}
_SCRIPTS = {
    "C1": "a restore-from-backup script", "C2": "a demo server provisioning script",
    "C3": "Kubernetes container setup scripts", "C4": "an ops script that reads alation_conf",
    "C5": "ops scripts that run SQL through alation_psql", "C6": "MCP/OAuth setup notes by Alation engineers",
    "K1": "Alation Professional Services' upgrade readiness check", "K2": "a restore automation bot",
    "K6": "notes by Alation engineers",
}


def source_in_words(source: str) -> str:
    """`docs S15, S16` -> 'the documentation pages "Enable Pagination for Lineage" and "..."'; `seed` and
    unknown tags in plain words too."""
    kind, _, tags = source.partition(" ")
    if kind == "seed":
        return "the specification this emulator was built to (no public source confirms it)"
    names = [tag.strip() for tag in tags.split(",") if tag.strip()]
    if kind == "docs":
        titles = [f'"{_DOCS[tag]}"' for tag in names if tag in _DOCS]
        page = "page" if len(titles) == 1 else "pages"
        return f"the documentation {page} {' and '.join(titles)}" if titles else "Alation's documentation"
    found = list(dict.fromkeys(_SCRIPTS[tag] for tag in names if tag in _SCRIPTS))
    return ", ".join(found) if found else "public scripts that drive the real tools"
