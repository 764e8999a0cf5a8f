"""The command-line grammar alone: bash's words, quoting, operators, redirections, errors, history."""

from __future__ import annotations

import subprocess

import pytest

from alation_shell.grammar import (
    AndOr,
    HistoryError,
    NotSupported,
    Parameter,
    Redirect,
    ShellSyntaxError,
    Word,
    expand_history,
    parse,
)


def words(line: str) -> list[list[str | Parameter]]:
    """The words of a one-command line, as their parts."""
    (item,) = parse(line)
    assert not item.rest
    (command,) = item.first.commands
    return [w.parts for w in command.words]


def shape(items: list[AndOr]) -> list:
    """A line's tree as nested lists of the commands' first words and the operators."""
    out: list = []
    for item in items:
        pipelines = [item.first] + [p for _, p in item.rest]
        ops = [None] + [op for op, _ in item.rest]
        for op, pipeline in zip(ops, pipelines, strict=True):
            if op:
                out.append(op)
            names = ["".join(str(p) for p in c.words[0].parts) if c.words else "" for c in pipeline.commands]
            out.append(("!" if pipeline.negated else "") + "|".join(names))
        out.append(";")
    return out


# Words and quoting ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("echo  a\tb", [["echo"], ["a"], ["b"]]),
        ("echo 'a  b' \"c  d\"", [["echo"], ["a  b"], ["c  d"]]),
        ("echo 'it''s'", [["echo"], ["its"]]),
        ("echo \"it's\" 'say \"hi\"'", [["echo"], ["it's"], ['say "hi"']]),
        (r"echo a\ b \$x \\ \'", [["echo"], ["a b"], ["$x"], ["\\"], ["'"]]),
        (r'echo "a\"b" "\$" "\\" "\n"', [["echo"], ['a"b'], ["$"], ["\\"], ["\\n"]]),
        ("echo 'a\\nb'", [["echo"], ["a\\nb"]]),
        ("echo a\\\nb", [["echo"], ["ab"]]),
        ("echo x\\", [["echo"], ["x\\"]]),
        ("echo a'b'\"c\"d", [["echo"], ["abcd"]]),
        ("echo a#b # comment", [["echo"], ["a#b"]]),
        ("echo '#' \"#\" \\#", [["echo"], ["#"], ["#"], ["#"]]),
        ("echo $ a$ '$x' \"$\"", [["echo"], ["$"], ["a$"], ["$x"], ["$"]]),
        ("echo * ~/x [ab] {} {a}", [["echo"], ["*"], ["~/x"], ["[ab]"], ["{}"], ["{a}"]]),
        ("echo '{a,b}' \\{a,b}", [["echo"], ["{a,b}"], ["{a,b}"]]),
        ("alation_conf a -s x=y", [["alation_conf"], ["a"], ["-s"], ["x=y"]]),
        ("'a=b' x", [["a=b"], ["x"]]),
        ("echo $\"x\"", [["echo"], ["x"]]),
    ],
)
def test_words_and_quoting_as_bash(line: str, expected: list) -> None:
    assert words(line) == expected


def test_words_match_what_bash_passes(tmp_path) -> None:  # noqa: ANN001
    """The same lines through bash itself: each word printed on a line of its own."""
    lines = [
        "'a  b' \"c  d\" e\\ f",
        "'it''s' \"it's\" 'say \"hi\"'",
        r'"a\"b" "\$" "\\" "\n" \\ \$',
        "a'b'\"c\"d '' \"\" x",
        "a#b '#' \\# # comment",
    ]
    for line in lines:
        bash = subprocess.run(["bash", "-c", f"printf '%s\\n' {line}"], capture_output=True, text=True, check=True)
        (item,) = parse("printf " + line)
        ours = ["".join(w.parts) for w in item.first.commands[0].words[1:]]  # type: ignore[arg-type]
        assert ours == bash.stdout.splitlines(), line


def test_empty_quotes_are_a_word() -> None:
    (item,) = parse("alation_conf a --set ''")
    assert item.first.commands[0].words[-1] == Word([], quoted=True)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("echo $?", [["echo"], [Parameter("?", False)]]),
        ('echo "$?" ${HOME}x', [["echo"], [Parameter("?", True)], [Parameter("HOME", False), "x"]]),
        ('echo "at $PWD/." $USER$HOSTNAME',
         [["echo"], ["at ", Parameter("PWD", True), "/."], [Parameter("USER", False), Parameter("HOSTNAME", False)]]),
        ("echo $LOGNAME $OLDPWD", [["echo"], [Parameter("LOGNAME", False)], [Parameter("OLDPWD", False)]]),
    ],
)
def test_parameters(line: str, expected: list) -> None:
    assert words(line) == expected


# Operators --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a | b | c", ["a|b|c", ";"]),
        ("a && b || c", ["a", "&&", "b", "||", "c", ";"]),
        ("a; b ;c;", ["a", ";", "b", ";", "c", ";"]),
        ("a\nb", ["a", ";", "b", ";"]),
        ("a |\n  b", ["a|b", ";"]),
        ("a &&\n\n b", ["a", "&&", "b", ";"]),
        ("a|b&&c|d", ["a|b", "&&", "c|d", ";"]),
        ("! a | b", ["!a|b", ";"]),
        ("a;b # c; d", ["a", ";", "b", ";"]),
        ("   # only a comment", []),
        ("", []),
        ("\n\n", []),
    ],
)
def test_lists_and_pipelines(line: str, expected: list) -> None:
    assert shape(parse(line)) == expected


def test_pipe_with_stderr_is_a_pipe_and_2_to_1() -> None:
    (item,) = parse("a |& b")
    first, second = item.first.commands
    assert first.redirects == [Redirect(2, ">&", 1)] and second.redirects == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a > f", [Redirect(1, ">", Word(["f"], False))]),
        ("a >f", [Redirect(1, ">", Word(["f"], False))]),
        ("a >> 'my f'", [Redirect(1, ">>", Word(["my f"], True))]),
        ("a 2> e", [Redirect(2, ">", Word(["e"], False))]),
        ("a 2>>e", [Redirect(2, ">>", Word(["e"], False))]),
        ("a < in", [Redirect(0, "<", Word(["in"], False))]),
        ("a 0<in", [Redirect(0, "<", Word(["in"], False))]),
        ("a > f 2>&1", [Redirect(1, ">", Word(["f"], False)), Redirect(2, ">&", 1)]),
        ("a 2>&1 > f", [Redirect(2, ">&", 1), Redirect(1, ">", Word(["f"], False))]),
        ("a >&2", [Redirect(1, ">&", 2)]),
        ("a 1>&2", [Redirect(1, ">&", 2)]),
        ("a &> f", [Redirect(1, "&>", Word(["f"], False))]),
        ("a &>> f", [Redirect(1, "&>>", Word(["f"], False))]),
        ("a >& f", [Redirect(1, "&>", Word(["f"], False))]),
        ("a >| f", [Redirect(1, ">", Word(["f"], False))]),
        ("> f", [Redirect(1, ">", Word(["f"], False))]),
    ],
)
def test_redirections(line: str, expected: list[Redirect]) -> None:
    (item,) = parse(line)
    assert item.first.commands[0].redirects == expected


def test_a_digit_word_is_an_argument_unless_it_touches_the_operator() -> None:
    (item,) = parse("echo 2 > f '2'>g")
    command = item.first.commands[0]
    assert [w.parts for w in command.words] == [["echo"], ["2"], ["2"]]
    assert [r.fd for r in command.redirects] == [1, 1]


# Errors -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("| a", "syntax error near unexpected token `|'"),
        ("a | | b", "syntax error near unexpected token `|'"),
        ("a ||", "syntax error: unexpected end of line after `||'"),
        ("a &&", "syntax error: unexpected end of line after `&&'"),
        ("a |", "syntax error: unexpected end of line after `|'"),
        ("; a", "syntax error near unexpected token `;'"),
        ("a && ; b", "syntax error near unexpected token `;'"),
        ("a >", "syntax error near unexpected token `newline'"),
        ("a > | b", "syntax error near unexpected token `|'"),
        ("a )", "syntax error near unexpected token `)'"),
        ("echo 'a", "syntax error: unexpected end of line while looking for matching `''"),
        ('echo "a', "syntax error: unexpected end of line while looking for matching `\"'"),
        ("echo ${HOME", "syntax error: unexpected end of line while looking for matching `}'"),
    ],
)
def test_syntax_errors(line: str, message: str) -> None:
    with pytest.raises(ShellSyntaxError) as caught:
        parse(line)
    assert caught.value.message == message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("line", "construct"),
    [
        ("echo $(hostname)", "command substitution $(...)"),
        ('echo "$(hostname)"', "command substitution $(...)"),
        ("echo `hostname`", "command substitution `...`"),
        ('echo "`hostname`"', "command substitution `...`"),
        ("echo $((1+2))", "arithmetic expansion $((...))"),
        ("echo $MAIL_PASS", "$MAIL_PASS: variable expansion"),
        ('echo "${MAIL_PASS}"', "${MAIL_PASS}: variable expansion"),
        ("echo ${HOME:-/}", "${HOME:-/}: variable expansion"),
        ("echo $1", "the special parameter $1"),
        ("echo $$", "the special parameter $$"),
        ("echo $'a\\tb'", "ANSI-C quoting $'...'"),
        ("X=1", "variable assignment (X=...)"),
        ("X=1 alation_conf x", "variable assignment (X=...)"),
        ("(cd /tmp)", "a subshell ( )"),
        ("{ a; }", "command grouping { }"),
        ("if true; then a; fi", "the if statement"),
        ("for f in a b; do echo $f; done", "the for loop"),
        ("while true; do a; done", "the while loop"),
        ("until a; do b; done", "the until loop"),
        ("case x in a) b;; esac", "the case statement"),
        ("a ;; b", "the case statement"),
        ("function f { a; }", "a function definition"),
        ("f() { a; }", "a function definition"),
        ("[[ -f x ]]", "the [[ ]] conditional"),
        ("time a", "the time keyword"),
        ("a &", "a background job (&)"),
        ("a & b", "a background job (&)"),
        ("cat <<EOF", "a here-document (<<)"),
        ("cat <<< hi", "a here-string (<<<)"),
        ("diff <(a) b", "process substitution <(...)"),
        ("a > >(b)", "process substitution >(...)"),
        ("ls /data2/{backup,tmp}", "brace expansion {...}"),
        ("echo {1..3}", "brace expansion {...}"),
        ("a 3> f", "file descriptor 3"),
        ("a >&3", "file descriptor 3"),
        ("a >&-", "closing file descriptors (>&-)"),
        ("a <> f", "the <> redirection"),
        ("a 2< f", "the redirection 2<"),
    ],
)
def test_unsupported_constructs_are_named(line: str, construct: str) -> None:
    with pytest.raises(NotSupported) as caught:
        parse(line)
    assert caught.value.construct == construct
    assert caught.value.message.startswith(f"{construct} is not supported in this emulator")
    assert "\n" not in caught.value.message


def test_an_unsupported_variable_names_the_ones_that_are() -> None:
    with pytest.raises(NotSupported) as caught:
        parse("echo $PATH")
    assert caught.value.message == (
        "$PATH: variable expansion is not supported in this emulator "
        "(only $?, $HOME, $HOSTNAME, $LOGNAME, $OLDPWD, $PWD, $USER are)"
    )


def test_reserved_words_are_plain_words_after_the_command_name() -> None:
    assert words("echo if then for done {") == [["echo"], ["if"], ["then"], ["for"], ["done"], ["{"]]
    assert words("'if' x") == [["if"], ["x"]]


# History expansion ------------------------------------------------------------------------------
HISTORY = ["alation_conf incr_backup", "ls -l /data2/backup", "cd /data1 && pwd"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!!", "cd /data1 && pwd"),
        ("sudo !!", "sudo cd /data1 && pwd"),
        ("!1", "alation_conf incr_backup"),
        ("!2 | wc -l", "ls -l /data2/backup | wc -l"),
        ("!-1", "cd /data1 && pwd"),
        ("!-3", "alation_conf incr_backup"),
        ("!ls", "ls -l /data2/backup"),
        ("!alation_conf -s True", "alation_conf incr_backup -s True"),
        ("du !$", "du pwd"),
        ("cat !^", "cat /data1"),
        ("echo !*", "echo /data1 && pwd"),
        ("cd !ls:$", "cd /data2/backup"),
        ("echo !-2:1", "echo -l"),
        ("echo !!:0", "echo cd"),
        ('echo "!!"', 'echo "cd /data1 && pwd"'),
    ],
)
def test_history_expansion(line: str, expected: str) -> None:
    assert expand_history(line, HISTORY) == (expected, True)


@pytest.mark.parametrize(
    "line",
    ["echo '!!'", "echo \\!\\!", "echo hi!", "echo ! x", "a != b", "echo a!= ", 'echo "hi!"', "echo !(x)", "plain"],
)
def test_no_history_expansion(line: str) -> None:
    assert expand_history(line, HISTORY) == (line, False)


@pytest.mark.parametrize(
    ("line", "message"),
    [("!9", "!9: event not found"), ("!-4", "!-4: event not found"), ("!nope", "!nope: event not found"),
     ("!0", "!0: event not found"), ("!!:5", "!!:5: bad word specifier")],
)
def test_history_errors(line: str, message: str) -> None:
    with pytest.raises(HistoryError) as caught:
        expand_history(line, HISTORY)
    assert caught.value.message == message


def test_history_expansion_on_an_empty_history() -> None:
    with pytest.raises(HistoryError):
        expand_history("!!", [])


def test_the_grammar_is_cheap_to_import() -> None:
    """It sits on every non-trivial line: no typing, dataclasses, re or shlex at import."""
    code = (
        "import sys; import alation_shell.grammar; "
        "print(sorted(m for m in ('typing', 'dataclasses', 're', 'shlex', 'argparse') if m in sys.modules))"
    )
    out = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("line", ["!!:" + "9" * 5000, "!" + "9" * 5000, "!-" + "9" * 30, "!\u00b2"])
def test_numbers_out_of_range_in_history_and_redirections_are_refused_cleanly(line: str) -> None:
    import alation_shell.grammar as grammar
    from alation_shell.errors import ShellError

    with pytest.raises(ShellError):  # a one-line error of the shell, never a ValueError
        grammar.parse(grammar.expand_history(line, ["echo hi there"])[0])


def test_a_huge_number_before_a_redirection_is_a_word() -> None:
    import alation_shell.grammar as grammar

    assert grammar.parse("9" * 5000 + ">f")  # parsed (the digits are an argument), no ValueError
