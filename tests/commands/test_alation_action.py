"""`alation_action`: the catalog, confirmation, and what each non-backup action does to the instance."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from alation_shell.commands import actions
from alation_shell.commands.actions import Action
from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
from alation_shell.node import supervisord
from alation_shell.session import Session
from alation_shell.shell.progress import ProgressBar
from alation_shell.terminal import Terminal
from tests.conftest import env_for, tool

BRIEF_ACTIONS = [
    "backup_all", "destructive_restore_all", "restart_alation", "deploy_conf_all", "rebuild_es_index",
    "create_saml_keys", "apply_license", "cluster_generate_keys", "cluster_enter_standalone_mode",
    "cluster_failover",
]
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")


def answering(instance: Instance, *answers: str | None) -> tuple[Session, list[str]]:
    """A session whose confirmations get `answers` in turn; the prompts asked are collected."""
    asked: list[str] = []
    queue = list(answers)

    def ask(prompt: str) -> str | None:
        asked.append(prompt)
        return queue.pop(0) if queue else None

    return Session(instance, ask=ask), asked


def mode(instance: Instance) -> str:
    return str(Registry.for_instance(instance).get("alation.cluster.replication_mode"))


# Catalog and listing -----------------------------------------------------------------------------
def test_catalog_holds_every_action_and_unsafe_ones_warn() -> None:
    listed = actions.actions()
    assert [a.name for a in listed] == BRIEF_ACTIONS
    unsafe = {a.name for a in listed if not a.safe}
    assert unsafe == {"destructive_restore_all", "cluster_failover"}
    assert all(a.warning for a in listed if not a.safe)
    assert actions.action("destructive_restore_all").confirms_itself
    assert actions.action("backup_all").handler == "alation_shell.commands.actions.backup:backup_all"


def test_every_handler_in_the_catalog_loads() -> None:
    """A handler path that names nothing (a module moved, a name mistyped) is caught here, not by a user."""
    everything = actions._load()  # hidden ones too
    assert len(everything) >= len(BRIEF_ACTIONS)
    for act in everything:
        handler = act.load()
        assert callable(handler) and handler.__name__ == act.handler.split(":")[1], act.name
        assert handler.__module__.startswith("alation_shell.commands.actions."), act.name


@pytest.mark.parametrize("line", ["alation_action", "alation_action --help", "alation_action -h"])
def test_listing(shell: Session, line: str) -> None:
    r = shell.execute(line)
    assert r.exit_code == 0
    rows = [row.split()[0] for row in r.stdout.splitlines() if row.startswith("  ")]
    assert rows == BRIEF_ACTIONS
    failover = next(row for row in r.stdout.splitlines() if row.startswith("  cluster_failover"))
    assert failover.endswith("[asks YES]")


def test_unknown_action_names_close_matches(shell: Session) -> None:
    r = shell.execute("alation_action restart_alaton")
    assert r.exit_code == 1
    assert r.stderr == "alation_action: no action 'restart_alaton'; did you mean restart_alation?\n"


def test_extra_arguments_are_a_usage_error(shell: Session, instance: Instance) -> None:
    r = shell.execute("alation_action restart_alation now")
    assert r.exit_code == 2
    assert not (instance.var / "services.json").exists()


def test_a_handler_path_that_names_nothing_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = {"name": "x", "description": "d", "safe": True}
    with pytest.raises(ModuleNotFoundError):
        Action({**spec, "handler": "alation_shell.no_such_module:run"}).load()
    with pytest.raises(AttributeError):
        Action({**spec, "handler": "alation_shell.node.supervisord:no_such_function"}).load()
    (tmp_path / "broken_action_module.py").write_text("import no_such_dependency_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError):
        Action({**spec, "handler": "broken_action_module:run"}).load()


# restart_alation and deploy_conf_all --------------------------------------------------------------
def test_restart_alation_clears_app_restarts_and_keeps_deploy(shell: Session, instance: Instance) -> None:
    shell.execute("alation_conf alation.feature_flags.enable_swagger -s True")  # alation
    shell.execute("alation_conf alation.feature_flags.enable_permissions_middleware_feature -s True")  # web
    shell.execute("alation_conf lineage_service.max_nodes_in_subgraph -s 5")  # lineage
    shell.execute("alation_conf alation.install.base_url -s https://catalog.example.com")  # deploy
    shell.execute("alation_conf alation.backup.scheduled_hour -s 9")  # supervisord
    before = {p.name: p.pid for p in supervisord.programs(instance)}

    r = shell.execute("alation_action restart_alation")

    assert r.exit_code == 0
    assert "13 stopped" in r.stdout and "13 started" in r.stdout
    assert set(supervisord.pending_restarts(instance)) == {"deploy", "supervisord"}
    assert "alation_action deploy_conf_all" in r.stderr
    after = {p.name: p for p in supervisord.programs(instance)}
    assert all(p.running for p in after.values())
    for name in supervisord.RESTART_COVERS["alation"]:
        assert after[name].pid != before[name], name
    assert after["backup_scheduler"].pid == before["backup_scheduler"]  # infrastructure is left alone


def test_deploy_conf_all_writes_config_and_hands_over_to_restart(shell: Session, instance: Instance) -> None:
    shell.execute("alation_conf alation.install.base_url -s https://catalog.example.com")
    shell.execute("alation_conf alation.email.email_password -s s3cret")
    r = shell.execute("alation_action deploy_conf_all")
    assert r.exit_code == 0
    assert "wrote /opt/alation/site/config/datadog.conf (1 setting)\n" in r.stdout
    assert "wrote /opt/alation/site/config/alation.conf (39 settings)\n" in r.stdout
    conf = instance.root / "opt/alation/site/config"
    text = (conf / "alation.conf").read_text()
    assert "alation.install.base_url = https://catalog.example.com\n" in text
    assert "s3cret" not in text and "alation.email.email_password = ********" in text
    assert "lineage-service.features.enable_pagination = False" in (conf / "lineage_service.conf").read_text()
    assert "site_id = " in (conf / "site.conf").read_text()
    assert supervisord.pending_restarts(instance) == {
        "alation": ["alation.email.email_password", "alation.install.base_url"]
    }

    snapshot = {p.name: p.read_bytes() for p in conf.iterdir()}
    again = shell.execute("alation_action deploy_conf_all")
    assert again.exit_code == 0
    assert "wrote" not in again.stdout
    assert {p.name: p.read_bytes() for p in conf.iterdir()} == snapshot

    shell.execute("alation_action restart_alation")
    assert supervisord.pending_restarts(instance) == {}


# rebuild_es_index -------------------------------------------------------------------------------
def _db(instance: Instance) -> Path:
    return instance.root / "data1/pgsql/rosemeta.db"


def test_rebuild_es_index_indexes_every_object_type(shell: Session, instance: Instance) -> None:
    from alation_shell.node.search_index import OBJECT_TYPES

    index = instance.root / "data1/es/index"
    (index / "stale_type.jsonl").write_text("{}\n")
    con = sqlite3.connect(_db(instance))
    con.execute("DELETE FROM rosemeta_article WHERE id % 2 = 0")
    con.commit()
    counts = {name: con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0] for name, sql in OBJECT_TYPES}
    con.close()
    r = shell.execute("alation_action rebuild_es_index")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in index.iterdir()) == sorted(f"{name}.jsonl" for name in counts)
    for name, count in counts.items():
        docs = [json.loads(line) for line in (index / f"{name}.jsonl").read_text().splitlines()]
        assert len(docs) == count and {d["otype"] for d in docs} <= {name}
        assert f"indexed {name}: {count} documents\n" in r.stdout  # milestones on a pipe
    assert r.stdout.endswith(
        f"Search index rebuilt: {sum(counts.values())} documents of {len(counts)} object types in /data1/es\n"
    )
    assert [p.name for p in index.parent.iterdir()] == ["index"]  # nothing left aside


def test_rebuild_es_index_on_a_terminal_draws_progress_instead_of_milestones(instance: Instance) -> None:
    out, err = io.StringIO(), io.StringIO()
    session = Session(instance, terminal=Terminal(interactive=True), progress_bar=ProgressBar)
    r = session.execute("alation_action rebuild_es_index", live=(out, err))
    assert r.exit_code == 0
    assert "indexed " not in out.getvalue()
    assert out.getvalue().startswith("Search index rebuilt: ")
    assert r.stdout == ""  # written live, not kept as well
    assert "\rrebuild_es_index  100.0%" in err.getvalue() and " documents/s" in err.getvalue()


def test_rebuild_es_index_failure_keeps_the_old_index(shell: Session, instance: Instance) -> None:
    assert shell.execute("alation_action rebuild_es_index").exit_code == 0
    es = instance.root / "data1/es"
    before = {p: p.read_bytes() for p in es.rglob("*") if p.is_file()}
    _db(instance).write_bytes(b"this is not a database" * 100)
    r = shell.execute("alation_action rebuild_es_index")
    assert r.exit_code == 1
    assert r.stderr.startswith("alation_action: cannot read the catalog database /data1/pgsql/rosemeta.db")
    assert {p: p.read_bytes() for p in es.rglob("*") if p.is_file()} == before
    _db(instance).unlink()
    r = shell.execute("alation_action rebuild_es_index")
    assert r.exit_code == 1 and "missing" in r.stderr


# Keys -------------------------------------------------------------------------------------------
def _openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


@needs_openssl
def test_create_saml_keys_writes_a_matching_rsa_pair(shell: Session, instance: Instance) -> None:
    r = shell.execute("alation_action create_saml_keys")
    assert r.exit_code == 0, r.stderr
    saml = instance.root / "opt/alation/site/saml"
    private, public = saml / "private.pem", saml / "public.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    _openssl("rsa", "-check", "-noout", "-in", str(private))
    assert "CN = alation-demo" in _openssl("x509", "-noout", "-subject", "-in", str(public))
    assert _openssl("x509", "-noout", "-modulus", "-in", str(public)) == _openssl(
        "rsa", "-noout", "-modulus", "-in", str(private))
    first = private.read_bytes()
    r = shell.execute("alation_action create_saml_keys")
    assert r.exit_code == 0 and "replaced" in r.stderr
    assert private.read_bytes() != first


def test_key_actions_run_no_host_tool_and_write_the_tools_formats(
    shell: Session, instance: Instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No host command: with an empty PATH the keys are still made, in openssl's and ssh-keygen's formats."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.x509.oid import NameOID

    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    r = shell.execute("alation_action create_saml_keys")
    assert r.exit_code == 0, r.stderr
    saml = instance.root / "opt/alation/site/saml"
    pem = (saml / "private.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8, unencrypted, as `openssl req -nodes`
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    cert_pem = (saml / "public.pem").read_bytes()
    assert cert_pem.startswith(b"-----BEGIN CERTIFICATE-----\n")
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alation-demo"
    assert cert.issuer == cert.subject  # self-signed
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 3650
    assert stat.S_IMODE((saml / "private.pem").stat().st_mode) == 0o600

    r = shell.execute("alation_action cluster_generate_keys")
    assert r.exit_code == 0, r.stderr
    cluster = instance.root / "opt/alation/site/cluster"
    private = (cluster / "cluster_key").read_bytes()
    assert private.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
    ssh_key = serialization.load_ssh_private_key(private, password=None)
    assert isinstance(ssh_key, ed25519.Ed25519PrivateKey)
    kind, body, comment = (cluster / "cluster_key.pub").read_text().split()
    assert (kind, comment) == ("ssh-ed25519", "alation-cluster@alation-demo")
    public = serialization.load_ssh_public_key(f"{kind} {body}".encode())
    assert public.public_bytes_raw() == ssh_key.public_key().public_bytes_raw()
    assert stat.S_IMODE((cluster / "cluster_key").stat().st_mode) == 0o600


@needs_ssh_keygen
def test_cluster_generate_keys_once(shell: Session, instance: Instance) -> None:
    r = shell.execute("alation_action cluster_generate_keys")
    assert r.exit_code == 0, r.stderr
    cluster = instance.root / "opt/alation/site/cluster"
    private, public = cluster / "cluster_key", cluster / "cluster_key.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True,
                             check=True).stdout.split()[:2]
    assert public.read_text().split()[:2] == derived
    assert public.read_text().strip() in r.stdout
    assert "Safe, no restart of services required." in r.stdout
    keys = private.read_bytes()
    again = shell.execute("alation_action cluster_generate_keys")
    assert again.exit_code == 0 and "kept them" in again.stdout
    assert private.read_bytes() == keys


# License ----------------------------------------------------------------------------------------
def test_apply_license(shell: Session, instance: Instance) -> None:
    r = shell.execute("alation_action apply_license")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("License applied: ")
    state = json.loads((instance.var / "license.json").read_text())
    assert state["file"] == "/data1/site_data/config/alation.lic"
    assert "signature" not in state["fields"]
    again = shell.execute("alation_action apply_license")
    assert again.stdout.startswith("License already applied: ")
    assert json.loads((instance.var / "license.json").read_text()) == state


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not text"),
        (b"just some words\n", "line 1 is not `key = value`"),
        (b"customer = A\nedition = B\n", "missing license_id, expires, signature"),
        (b"customer = A\nlicense_id = 1\nedition = B\nexpires = 2099-01-01\nsignature = nothex\n",
         "the signature is not a hex digest"),
        (b"customer = A\nlicense_id = 1\nedition = B\nexpires = 2000-01-01\nsignature = " + b"ab" * 40 + b"\n",
         "expired on 2000-01-01"),
    ],
)
def test_apply_license_refuses_bad_files(shell: Session, instance: Instance, content: bytes, message: str) -> None:
    (instance.root / "data1/site_data/config/alation.lic").write_bytes(content)
    r = shell.execute("alation_action apply_license")
    assert r.exit_code == 1
    assert message in r.stderr
    assert not (instance.var / "license.json").exists()


def test_apply_license_without_a_file(shell: Session, instance: Instance) -> None:
    (instance.root / "data1/site_data/config/alation.lic").unlink()
    r = shell.execute("alation_action apply_license")
    assert r.exit_code == 1
    assert r.stderr == ("alation_action: no license file at /data1/site_data/config/alation.lic: "
                        "copy the license file there first\n")


# Cluster ----------------------------------------------------------------------------------------
def test_cluster_enter_standalone_mode(shell: Session, instance: Instance) -> None:
    shell.execute("alation_conf alation.cluster.replication_mode -s primary")
    r = shell.execute("alation_action cluster_enter_standalone_mode")
    assert r.exit_code == 0
    assert mode(instance) == "standalone"
    conf = instance.conf_file.read_bytes()
    again = shell.execute("alation_action cluster_enter_standalone_mode")
    assert again.exit_code == 0 and "already standalone" in again.stdout
    assert instance.conf_file.read_bytes() == conf


def test_cluster_failover_only_on_a_secondary_and_before_asking(instance: Instance) -> None:
    session, asked = answering(instance, "YES")
    r = session.execute("alation_action cluster_failover")
    assert r.exit_code == 1
    assert "runs only where alation.cluster.replication_mode is secondary" in r.stderr
    assert asked == []


@pytest.mark.parametrize(("answer", "why"), [("no", "answer was not YES"), ("yes", "answer was not YES"),
                                             (None, "no answer (end of input)")])
def test_cluster_failover_declined_changes_nothing(instance: Instance, answer: str | None, why: str) -> None:
    session, asked = answering(instance, answer)
    session.execute("alation_conf alation.cluster.replication_mode -s secondary")
    conf = instance.conf_file.read_bytes()
    r = session.execute("alation_action cluster_failover")
    assert asked == ["Type YES to continue: "]
    assert r.exit_code == 1
    assert r.stderr.startswith("WARNING: Failover promotes this Secondary")
    assert f"alation_action: cluster_failover: {why}; aborted, nothing was changed\n" in r.stderr
    assert r.stdout == ""
    assert instance.conf_file.read_bytes() == conf
    assert not (instance.var / "services.json").exists()


def test_cluster_failover_confirmed(instance: Instance) -> None:
    session, _ = answering(instance, "YES")
    session.execute("alation_conf alation.cluster.replication_mode -s secondary")
    r = session.execute("alation_action cluster_failover")
    assert r.exit_code == 0, r.stderr
    assert mode(instance) == "standalone"
    assert "alation.cluster.replication_mode = standalone\n" in r.stdout
    assert "alation_action rebuild_es_index" in r.stderr
    assert (instance.var / "services.json").exists()  # the application was restarted


def test_piped_failover_reads_yes_from_the_next_line(instance: Instance) -> None:
    Session(instance).execute("alation_conf alation.cluster.replication_mode -s secondary")
    proc = subprocess.run([tool("alation-shell")], input="alation_action cluster_failover\nYES\n",
                          capture_output=True, text=True, env=env_for(instance.root), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Type YES to continue: " in proc.stdout
    assert mode(instance) == "standalone"


def test_standalone_alation_action_command_declined_on_eof(instance: Instance) -> None:
    Session(instance).execute("alation_conf alation.cluster.replication_mode -s secondary")
    proc = subprocess.run([tool("alation_action"), "cluster_failover"], input="", capture_output=True,
                          text=True, env=env_for(instance.root), timeout=60)
    assert proc.returncode == 1
    assert "aborted, nothing was changed" in proc.stderr
    assert mode(instance) == "secondary"
