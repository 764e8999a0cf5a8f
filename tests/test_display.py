"""Names as the operator sees them: quoted as GNU ls quotes them, and read back by bash as the same name."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from alation_shell.display import clipped, one_line, printable, quote, quote_always

NAMES = {
    "plain.txt": "plain.txt",
    "a b": "'a b'",
    "a'b": "\"a'b\"",
    "a'b c": "\"a'b c\"",
    "a\x1bb": "'a'$'\\033''b'",
    "a\nb": "'a'$'\\n''b'",
    "\na": "''$'\\n''a'",
    "a\n": "'a'$'\\n'",
    "a\n\nb": "'a'$'\\n\\n''b'",
    "a'\nb": "'a'\\'''$'\\n''b'",
    "a\tb": "'a'$'\\t''b'",
    "a\x7fb": "'a'$'\\177''b'",
    "a\x85b": "'a'$'\\302\\205''b'",
    "bad\udcffname": "'bad'$'\\377''name'",  # a byte that is not UTF-8, as os.listdir gives it
    "#x": "'#x'",
    "x#": "x#",
    "~x": "'~x'",
    "a=b": "'a=b'",
    "a$b": "'a$b'",
    "a\\b": "'a\\b'",
    "a'b!": "'a'\\''b!'",
    "{a}": "{a}",
    "{": "'{'",
    "-x": "-x",
    "a,b:c@d%e+f]": "a,b:c@d%e+f]",
    "é": "é",
}


@pytest.mark.parametrize(("name", "shown"), NAMES.items())
def test_quoted_as_gnu_ls_quotes_on_a_terminal(name: str, shown: str) -> None:
    assert quote(name) == shown
    assert quote_always(name) == (shown if shown[0] in "'\"" else f"'{shown}'")


@pytest.mark.skipif(shutil.which("ls") is None or "GNU" not in subprocess.run(
    ["ls", "--version"], capture_output=True, text=True).stdout, reason="GNU ls not installed")
def test_the_same_as_gnu_ls(tmp_path: Path) -> None:
    names = [name for name in NAMES if name != "é"]  # GNU ls needs a UTF-8 locale for it; it prints it as is
    for name in names:
        (tmp_path / name).touch()
    for style, ours in (("shell-escape", quote), ("shell-escape-always", quote_always)):
        gnu = subprocess.run(["ls", "-1", "-d", "-U", f"--quoting-style={style}", "--", *names], cwd=tmp_path,
                             capture_output=True, env={"LC_ALL": "C"}).stdout
        assert gnu.decode().splitlines() == [ours(name) for name in names]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_reads_every_quoted_name_back_as_the_name() -> None:
    rng = random.Random(9)
    alphabet = [chr(c) for c in range(1, 128) if chr(c) != "/"] + ["é", "\x85", "\u202e"]
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(300)]
    script = "".join(f"printf '%s\\0' {quote(name)} {quote_always(name)}\n" for name in names)
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    assert out.split(b"\0")[:-1] == [name.encode() for name in names for _ in range(2)]


def test_printable_names_stay_as_they_are_others_are_quoted() -> None:
    assert printable("a b") == "a b"
    assert printable("a\x1b[31mb") == "'a'$'\\033''[31mb'"


def test_one_line_escapes_what_a_terminal_would_act_on() -> None:
    assert one_line("cat: no such file") == "cat: no such file"
    line = one_line("x: 'a\x1b]0;title\x07\nb\r' \u202e")
    assert line == "x: 'a\\033]0;title\\a\\nb\\r' \\342\\200\\256"
    assert line.isprintable()


def test_clipped_keeps_both_ends() -> None:
    assert clipped("short") == "short"
    long = "/data1/" + "d/" * 1000 + "file"
    shown = clipped(long, 40)
    assert len(shown) == 40 and shown.startswith("/data1/d/") and shown.endswith("/file") and "..." in shown
