"""alation_django_shell: the documented LDAP group sync call answered; no Python ever run."""

from __future__ import annotations

import json
from pathlib import Path

from alation_shell.instance import Instance
from alation_shell.session import Session

DOCUMENTED = '''\
try:
    from scim.configuration import *
except ImportError:
    print("Note: scim.configuration not found; using defaults.")

try:
    from rosemeta.utils.users_and_groups.configuration_utils import *
except ImportError:
    print("Note: configuration_utils not found; using defaults.")

enable_ldap_group_sync()
'''


def state(instance: Instance) -> dict:
    path = instance.root / "var/django_settings.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_the_documented_calls_piped_in(shell: Session, instance: Instance) -> None:
    (instance.root / "data2/tmp/ldap.py").write_text(DOCUMENTED)
    r = shell.execute("cat /data2/tmp/ldap.py | alation_django_shell")
    assert (r.stdout, r.stderr, r.exit_code) == ("", "", 0)
    assert state(instance) == {"ldap_group_sync": True}


def test_arbitrary_python_is_never_run(shell: Session, instance: Instance, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    r = shell.execute(f"echo \"open('{marker}', 'w').write('x')\" | alation_django_shell")
    assert r.exit_code == 1 and "does not run arbitrary Python" in r.stderr
    r = shell.execute(f"echo \"__import__('os').system('touch {marker}')\" | alation_django_shell")
    assert r.exit_code == 1
    assert not marker.exists()
    assert state(instance) == {}
    r = shell.execute("echo 'def f(:' | alation_django_shell")
    assert r.exit_code == 1 and "SyntaxError" in r.stderr


def test_the_interactive_prompt_until_exit(instance: Instance) -> None:
    answers = iter(["from scim.configuration import *", "try:", "    from x import *", "except ImportError:",
                    "    print('no')", "", "enable_ldap_group_sync()", "exit"])
    asked: list[str] = []

    def ask(question: str) -> str | None:
        asked.append(question)
        return next(answers, None)

    r = Session(instance, ask=ask).execute("alation_django_shell")
    assert r.exit_code == 0
    assert asked == [">>> ", ">>> ", "... ", "... ", "... ", "... ", ">>> ", ">>> "]
    assert "(InteractiveConsole)" in r.stdout
    assert state(instance) == {"ldap_group_sync": True}
