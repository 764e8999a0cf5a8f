"""The never-arrows of docs/ARCHITECTURE.md, read from the source: every import (inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "alation_shell"
FRONT_ENDS = ("shell", "server", "training")
# room -> rooms (or top-level modules of alation_shell) it must never import from
NEVER = {
    "backup": ("commands", "shell", "server", "training"),
    "config": ("commands", "shell", "server", "training", "backup"),
    "node": ("commands", "shell", "server", "training"),
    "commands": ("shell", "server"),
}
TERMINAL_LIBRARIES = ("prompt_toolkit", "asyncssh")  # front ends only
HIGHLIGHTING = ("pygments",)  # front ends only


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `path`, wherever it stands; relative ones resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "alation_shell":  # `from alation_shell import node`: the room is the name imported
                found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, base))
    return found


def room(path: Path) -> str:
    """The room (sub-package, or top-level module without `.py`) of a file of alation_shell."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _target_room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "alation_shell" and len(parts) > 1 else None


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = room(path)
        shown = path.relative_to(PACKAGE.parent)
        for line, module in imports(path):
            target = _target_room(module)
            if target is not None and target != here and target in NEVER.get(here, ()):
                found.append(f"{shown}:{line}: {here} imports {module}")
            top = module.split(".")[0]
            if top in TERMINAL_LIBRARIES + HIGHLIGHTING and here not in FRONT_ENDS:
                found.append(f"{shown}:{line}: {here} (core) imports {module}")
    return sorted(set(found))


def test_no_never_arrow_in_the_package() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("room_name", "source", "arrow"),
    [
        ("backup", "def f():\n    from alation_shell.commands.base import Context\n", "alation_shell.commands.base"),
        ("node", "from alation_shell.training import walkthrough\n", "alation_shell.training"),
        ("config", "from ..backup import engine\n", "alation_shell.backup"),
        ("commands", "if True:\n    import prompt_toolkit.shortcuts\n", "prompt_toolkit.shortcuts"),
        ("backup", "import pygments\n", "pygments"),
    ],
)
def test_the_check_sees_every_form_of_import(
    room_name: str, source: str, arrow: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The check finds an arrow however it is written: in a function, relative, under a condition."""
    fake = tmp_path / "alation_shell"
    (fake / room_name).mkdir(parents=True)
    (fake / room_name / "bad.py").write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    found = violations()
    assert len(found) == 1 and found[0].startswith(f"alation_shell/{room_name}/bad.py:") and arrow in found[0]


def test_every_module_imports() -> None:
    """Every module of the package imports (a name moved elsewhere fails here, not in the one run that needs it)."""
    import importlib
    import pkgutil

    import alation_shell

    for module in pkgutil.walk_packages(alation_shell.__path__, "alation_shell."):
        importlib.import_module(module.name)


def test_no_module_invents_its_own_state_file() -> None:
    """Every file under an instance's var/ is named in instance.py (VAR_*): `x.var / "name"` is written nowhere,
    nor a `StateFile.under_var(..., "name", ...)` with a name of its own."""
    import ast

    import alation_shell

    offenders = []
    for path in sorted(Path(alation_shell.__file__).parent.rglob("*.py")):
        if path.name == "instance.py" and path.parent.name == "alation_shell":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.left, ast.Attribute)
                    and node.left.attr == "var" and isinstance(node.right, ast.Constant)):
                offenders.append(f"{path.name}:{node.lineno}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "under_var"
                    and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
