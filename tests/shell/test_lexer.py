"""Highlighting: the lexer names the parts of a shell line and never loses or garbles a character."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from pygments.token import Comment, Error, Keyword, Name, Number, String, Text, Whitespace

from alation_shell.shell.lexer import ShellLexer

LEXER = ShellLexer()


def tokens(line: str) -> list[tuple[object, str]]:
    """The non-blank tokens of `line`."""
    return [(kind, text) for kind, text in LEXER.get_tokens(line) if kind not in (Whitespace, Text.Whitespace)]


def test_a_set_command_with_a_comment() -> None:
    assert tokens("alation_conf alation.backup_v2.incr_backup -s True  # enable") == [
        (Name.Builtin, "alation_conf"),
        (Name.Variable, "alation.backup_v2.incr_backup"),
        (Name.Attribute, "-s"),
        (Keyword.Constant, "True"),
        (Comment.Single, "# enable"),
    ]


def test_numbers_flags_strings_and_paths() -> None:
    assert tokens("alation_conf --describe lineage-service.features.enable_pagination") == [
        (Name.Builtin, "alation_conf"),
        (Name.Attribute, "--describe"),
        (Name.Variable, "lineage-service.features.enable_pagination"),
    ]
    assert tokens("alation_conf alation.backup_v2.incr_backup_versions -s 4")[-1] == (Number.Integer, "4")
    assert tokens("alation_conf x.y -s false")[-1] == (Keyword.Constant, "false")
    assert tokens("alation_conf alation.email.host -s 'smtp host'")[-1] == (String.Single, "'smtp host'")
    assert tokens('cat "/data2/backup/a b"')[-1] == (String.Double, '"/data2/backup/a b"')
    assert tokens("ls -l /data2/backup") == [
        (Name.Builtin, "ls"), (Name.Attribute, "-l"), (String.Other, "/data2/backup"),
    ]


def test_only_known_commands_are_marked_as_commands() -> None:
    assert tokens("alation_confx a.b")[0] == (Name, "alation_confx")
    assert tokens("exit 3") == [(Name.Builtin, "exit"), (Number.Integer, "3")]
    assert tokens("Truex")[0] == (Name, "Truex")


def test_a_hash_inside_a_word_starts_a_comment_as_in_shlex() -> None:
    assert tokens("alation_conf a#b c") == [(Name.Builtin, "alation_conf"), (Text, "a"), (Comment.Single, "#b c")]
    assert tokens("alation_conf 'a#b' c") == [(Name.Builtin, "alation_conf"), (String.Single, "'a#b'"), (Text, "c")]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_line_is_lexed_whole_without_errors(line: str) -> None:
    # prompt_toolkit's PygmentsLexer reads the unprocessed tokens: they must give back the line exactly.
    lexed = list(LEXER.get_tokens_unprocessed(line))
    assert "".join(text for _, _, text in lexed) == line
    assert not any(kind in Error for _, kind, _ in lexed)
