"""`alation_django_shell`: the Django shell of the Alation application, as the docs use it.

The emulator never runs Python that an operator types: the input is only parsed (`ast`, which runs nothing)
and the documented calls are answered. `enable_ldap_group_sync()` (after the documented imports, which the
emulated application has) switches LDAP group sync on in the instance's state; `print(...)` of plain text
prints it; `exit()` leaves. Anything else is refused with one line saying so.
"""

from __future__ import annotations

import ast

from alation_shell.commands.base import Context
from alation_shell.instance import VAR_DJANGO_SETTINGS
from alation_shell.storage import read_json, write_json

STATE_FILE = VAR_DJANGO_SETTINGS
CALLS = ("enable_ldap_group_sync()",)
REFUSED = ("alation_django_shell: not run: this emulator does not run arbitrary Python "
           f"(it answers the documented calls: {', '.join(CALLS)})")
PYTHON_BANNER = ("Python 3.8.12 (default, Sep 15 2023, 00:00:00) on linux",
                 'Type "help", "copyright", "credits" or "license" for more information.',
                 "(InteractiveConsole)")


class _Exit(Exception):
    pass


def run(ctx: Context, args: list[str]) -> int:
    """Read Python from what is piped in, else at the `>>> ` prompt, and answer the documented calls."""
    if args and args[0] in ("-h", "--help"):
        ctx.out("usage: alation_django_shell")
        ctx.out("The Django shell of the Alation application (Python with the application loaded).")
        ctx.out(REFUSED.removeprefix("alation_django_shell: not run: "))
        return 0
    if ctx.stdin is not None:
        try:
            return _run_source(ctx, ctx.stdin)
        except _Exit:
            return 0
    for line in PYTHON_BANNER:
        ctx.out(line)
    ctx.err(REFUSED.replace("not run: ", ""))
    status = 0
    buffer: list[str] = []
    while True:
        line = ctx.ask("... " if buffer else ">>> ")
        if line is None:
            return status
        buffer.append(line)
        source = "\n".join(buffer)
        if buffer[0].rstrip().endswith(":") and line.strip():
            continue  # a block (`try:`) goes on until a blank line, as in the Python prompt
        buffer = []
        try:
            status = _run_source(ctx, source) or status
        except _Exit:
            return status


def _run_source(ctx: Context, source: str) -> int:
    """Answer the statements of `source` (parsed, never run); 1 when some were refused."""
    if source.strip() in ("exit", "quit"):
        raise _Exit
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        ctx.err(f"  File \"<console>\", line {exc.lineno}")
        ctx.err(f"SyntaxError: {exc.msg}")
        return 1
    refused = False
    for statement in tree.body:
        refused = not _answer(ctx, statement) or refused
    return 1 if refused else 0


def _answer(ctx: Context, statement: ast.stmt) -> bool:
    """Answer one statement; False when the emulator refuses it."""
    if isinstance(statement, ast.Import | ast.ImportFrom | ast.Pass):
        return True  # the emulated application has the documented modules
    if isinstance(statement, ast.Try):
        return all(_answer(ctx, s) for s in statement.body)  # the imports succeed: no handler runs
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        name = call.func.id if isinstance(call.func, ast.Name) else ""
        if name in ("exit", "quit") and not call.args:
            raise _Exit
        if name == "print" and all(isinstance(a, ast.Constant) for a in call.args) and not call.keywords:
            ctx.out(" ".join(str(a.value) for a in call.args if isinstance(a, ast.Constant)))
            return True
        if name == "enable_ldap_group_sync" and not call.args and not call.keywords:
            state = read_json(ctx.instance.var / STATE_FILE, {})
            state = state if isinstance(state, dict) else {}
            state["ldap_group_sync"] = True
            write_json(ctx.instance.var / STATE_FILE, state)
            return True
    ctx.err(REFUSED)
    return False
