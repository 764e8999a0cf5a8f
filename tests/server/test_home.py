"""The server home: users, their keys and hashed passwords, their instances (`adduser`, `deluser`, `users`)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pexpect
import pytest

from alation_shell.instance import Instance
from alation_shell.server.home import ServerHome, ServerHomeError, check_password, check_username, hash_password
from tests.conftest import tool

needs_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen (openssh-client)")


def cli(home: Path, *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("alation-shell"), *args, "--server-home", str(home)], input=input,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def pubkey(tmp_path: Path) -> Path:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("needs ssh-keygen (openssh-client)")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f", str(tmp_path / "k")],
                   check=True)
    return tmp_path / "k.pub"


@pytest.mark.parametrize("name", ["trainee", "_svc", "a", "bob-2", "x" * 32])
def test_valid_user_names(name: str) -> None:
    assert check_username(name) == name


@pytest.mark.parametrize("name", ["", "Bob", "../etc", "a/b", "..", "-bob", "1abc", "x" * 33, "bob\n", "b\x1bc",
                                  "bob.smith", "élodie"])
def test_invalid_user_names_are_refused_on_one_line(name: str) -> None:
    with pytest.raises(ServerHomeError) as caught:
        check_username(name)
    assert "\n" not in caught.value.message and "\x1b" not in caught.value.message


def test_adduser_with_a_piped_password_stores_only_a_bcrypt_hash(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = cli(home, "adduser", "trainee", "--password", input="s3cret pass\n")
    assert r.returncode == 0, r.stderr
    account = home / "users/trainee/account.json"
    stored = json.loads(account.read_text())["password"]
    assert stored.startswith("$2b$") and "s3cret" not in account.read_text()
    assert check_password("s3cret pass", stored) and not check_password("s3cret", stored)
    assert stat.S_IMODE(account.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "users/trainee").stat().st_mode) == 0o700
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_bad_input_is_refused_and_changes_nothing(tmp_path: Path, pubkey: Path) -> None:
    home = tmp_path / "home"
    for args, stdin, expected in [
        (("adduser", "trainee", "--password"), "\n", "empty password refused"),
        (("adduser", "trainee", "--password"), "x" * 73 + "\n", "password too long"),
        (("adduser", "../root", "--password"), "pw\n", "invalid user name '../root'"),
        (("adduser", "trainee"), "", "give --key FILE.pub and/or --password"),
        (("adduser", "trainee", "--key", str(tmp_path / "missing.pub")), "", "cannot read key file"),
        (("adduser", "trainee", "--key", str(pubkey.with_suffix(""))), "", "not an OpenSSH public key"),
        (("adduser", "trainee", "--colour"), "", "unknown option '--colour'"),
        (("deluser", "nobody"), "", "no user 'nobody'"),
        (("serve", "--port", "http"), "", "--port expects a whole number from 0 to 65535"),
        (("serve", "--workers", "0"), "", "--workers expects a whole number from 1 to 64"),
    ]:
        r = cli(home, *args, input=stdin)
        assert r.returncode != 0, args
        assert expected in r.stderr, (args, r.stderr)
        assert r.stderr.count("\n") <= 2 and "Traceback" not in r.stderr
    assert not (home / "users/trainee").exists()


def test_keys_users_and_deluser(tmp_path: Path, pubkey: Path) -> None:
    home = tmp_path / "home"
    assert cli(home, "adduser", "bob", "--key", str(pubkey)).returncode == 0
    keys = home / "users/bob/authorized_keys"
    assert keys.read_text().startswith("ssh-ed25519 AAAA") and stat.S_IMODE(keys.stat().st_mode) == 0o600
    r = cli(home, "adduser", "bob", "--key", str(pubkey), "--password", input="pw\n")  # same key: kept once
    assert r.returncode == 0 and r.stdout.startswith("updated user bob")
    assert len(keys.read_text().splitlines()) == 1
    assert cli(home, "adduser", "carol", "--password", input="pw\n").returncode == 0
    listed = cli(home, "users").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["bob", "carol"]
    assert "1 key  password: yes" in listed[0] and "0 keys  password: yes" in listed[1]
    assert cli(home, "deluser", "bob").returncode == 0
    assert not (home / "users/bob").exists()
    assert [line.split()[0] for line in cli(home, "users").stdout.splitlines()] == ["carol"]


def test_adduser_at_a_terminal_asks_twice_without_echo(tmp_path: Path) -> None:
    home = tmp_path / "home"
    child = pexpect.spawn(tool("alation-shell"), ["adduser", "tina", "--password", "--server-home", str(home)],
                          encoding="utf-8", timeout=30)
    child.expect_exact("password: ")
    child.sendline("one")
    child.expect_exact("password again: ")
    child.sendline("two")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and "the two passwords differ" in child.before
    assert "one" not in child.before.replace("password", "")  # nothing typed was shown
    assert not (home / "users/tina").exists()


def test_an_unknown_user_is_checked_against_a_hash_of_the_same_cost() -> None:
    import alation_shell.server.home as home_module

    assert check_password("anything", None) is False
    real = hash_password("pw")
    dummy = home_module._dummy_hash().decode()
    assert dummy.split("$")[2] == real.split("$")[2]  # the same bcrypt cost factor: the same time


def test_a_user_instance_is_copied_from_the_template_once(tmp_path: Path, seeded_template: Path) -> None:
    home = ServerHome(tmp_path / "home")
    shutil.copytree(seeded_template, home.template, symlinks=True)
    home.save_user("bob", keys=[], password_hash=hash_password("pw"))
    user = home.user("bob")
    instance = home.instance_for(user, shared=False)
    assert instance.root == Instance(user.instance_dir).root and instance.is_initialized()
    (instance.var / "marker").write_text("mine")
    assert (home.instance_for(user, shared=False).var / "marker").read_text() == "mine"
    assert home.instance_for(user, shared=True).root == Instance(home.shared).root
    assert not (home.shared / "var/marker").exists()


def test_a_live_session_is_marked_and_deluser_refused_until_it_ends(tmp_path: Path) -> None:
    home = ServerHome(tmp_path / "home")
    home.save_user("bob", keys=[], password_hash=hash_password("pw"))
    bob = home.user("bob")
    assert home.live_sessions(bob) == 0
    first = home.mark_session(bob, "100-1")
    second = home.mark_session(bob, "100-2")
    (bob.dir / "sessions/99-1").write_text("")  # left by a server that died: nobody holds it
    assert home.live_sessions(bob) == 2
    with pytest.raises(ServerHomeError) as caught:
        home.delete_user("bob")
    assert caught.value.message == ("bob is logged in (2 sessions); use --force to remove them anyway, or try again"
                                    " when they have logged out")
    assert bob.exists()
    first.release()
    second.release()
    assert home.live_sessions(bob) == 0
    assert home.delete_user("bob") == (0, 0)
    assert not bob.dir.exists()
    with pytest.raises(ServerHomeError):
        home.mark_session(bob, "100-3")  # a session of a user removed since its login
    assert not bob.dir.exists()


def test_deluser_force_removes_a_user_whose_sessions_do_not_end(tmp_path: Path) -> None:
    home = ServerHome(tmp_path / "home")
    home.save_user("bob", keys=[], password_hash=hash_password("pw"))
    bob = home.user("bob")
    stuck = home.mark_session(bob, "100-1")  # no server here to end it
    assert home.delete_user("bob", force=True, wait=0.3) == (1, 1)
    assert not bob.dir.exists()
    stuck.release()  # its files are gone already: nothing to do, no error


def test_adduser_waits_for_a_forced_deluser_and_starts_afresh(tmp_path: Path) -> None:
    """While `deluser --force` waits for the user's sessions to end, an `adduser` of the same name is refused
    (the deluser would remove the new account with the old files); once the deluser has finished, the name is
    free. Files left by a deluser that died in its wait (no account, no live session) are never inherited."""
    home = ServerHome(tmp_path / "home")
    home.save_user("bob", keys=[], password_hash=hash_password("pw"))
    bob = home.user("bob")
    (bob.dir / "history").write_text("alation_conf secret\n")
    stuck = home.mark_session(bob, "100-1")
    removing = threading.Thread(target=home.delete_user, args=("bob",), kwargs={"force": True, "wait": 30.0})
    removing.start()
    while bob.exists():  # the account goes first
        time.sleep(0.01)
    with pytest.raises(ServerHomeError) as caught:
        home.save_user("bob", keys=[], password_hash=hash_password("new"))
    assert caught.value.message == "bob is being removed (its sessions are ending); try again in a moment"
    stuck.release()
    removing.join(30)
    assert not removing.is_alive() and not bob.dir.exists()
    assert home.save_user("bob", keys=[], password_hash=hash_password("new")) is True
    assert bob.exists() and check_password("new", bob.password_hash)
    # What a deluser killed in its wait leaves: the files without the account. A new bob does not get them.
    bob.account_file.unlink()
    (bob.dir / "history").write_text("alation_conf secret\n")
    assert home.save_user("bob", keys=[], password_hash=hash_password("again")) is True
    assert not (bob.dir / "history").exists() and bob.exists()
