"""`alation_action`: list and run the administration actions, and the handlers of the non-backup ones.

The catalog (names, safety, warnings, handlers) is data: alation_shell/actions.json. The backup actions'
handlers live with the backup engine (alation_shell/backup/actions.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from alation_shell import actions, services
from alation_shell.commands.base import Context
from alation_shell.commands.supervisor import report_applied
from alation_shell.errors import Busy, ShellError, UsageError
from alation_shell.storage import StateFile, locked

REPLICATION_MODE = "alation.cluster.replication_mode"
CONF_DIR = "/opt/alation/site/config"
CATALOG_DB = "/data1/pgsql/rosemeta.db"
ES_DIR = "/data1/es"
SAML_DIR = "/opt/alation/site/saml"
CLUSTER_DIR = "/opt/alation/site/cluster"
LICENSE_FILE = "/data1/site_data/config/alation.lic"
TOOL_TIMEOUT = 120  # seconds for openssl / ssh-keygen; key generation takes well under one


def run(ctx: Context, args: list[str]) -> int:
    """`alation_action` (list), `alation_action --help` (list), `alation_action NAME` (run)."""
    if not args or args[0] in ("-h", "--help"):
        _list(ctx)
        return 0
    if args[0].startswith("-"):
        raise UsageError(f"unknown option {args[0]!r}")
    if len(args) > 1:
        raise UsageError(f"{args[0]} takes no arguments")
    act = actions.action(args[0])
    handler = act.load()
    for name, wanted in act.requires.items():
        value = ctx.registry.catalog.lookup(name).format(ctx.registry.get(name))
        if value != wanted:
            raise ShellError(f"{act.name} runs only where {name} is {wanted}; on this node it is {value}")
    if not act.safe and not act.confirms_itself:
        actions.confirm(ctx, act)
    return handler(ctx)


def _list(ctx: Context) -> None:
    listed = actions.actions()
    width = max(len(a.name) for a in listed) + 2
    ctx.out("usage: alation_action ACTION")
    ctx.out()
    ctx.out("Actions (those marked [asks YES] print a warning and run only when you answer YES):")
    for act in listed:
        mark = "" if act.safe else "  [asks YES]"
        ctx.out(f"  {act.name:<{width}}{act.description}{mark}")


# restart_alation and deploy_conf_all -----------------------------------------------------------
def restart_alation(ctx: Context) -> int:
    """Stop and start the application programs; the changes waiting for them take effect."""
    groups = ", ".join(services.APP_GROUPS)
    stopped = [name for name, outcome in services.stop(ctx.instance, list(services.APP_GROUPS))
               if outcome == "stopped"]
    ctx.out(f"Stopping Alation services ({groups}): {len(stopped)} stopped")
    started = [name for name, outcome in services.start(ctx.instance, list(services.APP_GROUPS))
               if outcome == "started"]
    ctx.out(f"Starting Alation services ({groups}): {len(started)} started")
    report_applied(ctx, services.covered_kinds(started))
    _deploy_still_pending(ctx)
    ctx.out("Alation restarted.")
    return 0


def _deploy_still_pending(ctx: Context) -> None:
    waiting = services.pending_restarts(ctx.instance).get("deploy")
    if waiting:
        ctx.err(f"note: still pending: {', '.join(waiting)} must be deployed first: "
                f"{ctx.registry.catalog.restart_hint('deploy')}")


def deploy_conf_all(ctx: Context) -> int:
    """Write one configuration file per component from the current alation_conf values (idempotent)."""
    catalog = ctx.registry.catalog
    values = ctx.registry.changed()
    files: dict[str, list[str]] = {}
    for param in catalog.parameters:
        component = param.name.split(".")[0] if "." in param.name else "site"
        line = f"{param.name} = {param.format(values.get(param.name, param.default))}"
        files.setdefault(component.replace("-", "_") + ".conf", []).append(line)
    header = "# Written by `alation_action deploy_conf_all` from alation_conf; edits here are overwritten.\n"
    for name, lines in sorted(files.items()):
        content = (header + "\n".join(sorted(lines)) + "\n").encode()
        path = f"{CONF_DIR}/{name}"
        unchanged = _read(ctx, path) == content
        if not unchanged:
            ctx.instance.write_file(path, content)
        settings = "1 setting" if len(lines) == 1 else f"{len(lines)} settings"
        ctx.out(f"{'unchanged' if unchanged else 'wrote'} {CONF_DIR}/{name} ({settings})")
    deployed = services.clear_pending_restarts(ctx.instance, ["deploy"]).get("deploy")
    if deployed:
        services.add_pending_restart(ctx.instance, "alation", deployed)
        ctx.err("note: deployed; " + catalog.restart_note("alation", deployed))
    ctx.out("Configuration deployed.")
    return 0


def _read(ctx: Context, path: str, limit: int = -1) -> bytes | None:
    """Instance file `path` (at most `limit` bytes) read through the instance's confinement; None if there is
    none."""
    try:
        return ctx.instance.read_file(path, limit)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


# rebuild_es_index ------------------------------------------------------------------------------
def rebuild_es_index(ctx: Context) -> int:
    """Rebuild the search index in /data1/es from the catalog database (swapped in whole when done)."""
    from alation_shell.search_index import OBJECT_TYPES, build_search_index

    with locked(ctx.instance.var / "rebuild_es_index.lock", blocking=False) as held:
        if not held:
            raise Busy("another rebuild_es_index is running")
        milestone = None if ctx.interactive else (lambda name, n: ctx.out(f"indexed {name}: {n} documents"))
        documents = build_search_index(
            ctx.instance, progress=lambda label, n: ctx.progress(label, n, unit="documents"), indexed=milestone
        )
    ctx.out(f"Search index rebuilt: {documents} documents of {len(OBJECT_TYPES)} object types in {ES_DIR}")
    return 0


# Keys ------------------------------------------------------------------------------------------
def _tool(name: str, args: list[str], work: Path) -> None:
    """Run a host tool (openssl, ssh-keygen) in `work`; ShellError with its message if it fails."""
    import subprocess

    path = shutil.which(name)
    if path is None:
        raise ShellError(f"`{name}` is not installed on this computer; the emulator needs it to make keys")
    try:
        proc = subprocess.run([path, *args], cwd=work, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise ShellError(f"{name} did not finish in {TOOL_TIMEOUT} s") from exc
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise ShellError(f"{name} failed: {lines[-1] if lines else f'exit status {proc.returncode}'}")


def create_saml_keys(ctx: Context) -> int:
    """Generate an RSA private key and its self-signed certificate for SAML (replaces existing ones)."""
    import tempfile

    existed = _read(ctx, f"{SAML_DIR}/private.pem") is not None
    ctx.instance.var.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ctx.instance.var, prefix=".saml-") as tmp:
        work = Path(tmp)
        _tool("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
            "-subj", f"/CN={ctx.session.hostname}", "-keyout", "private.pem", "-out", "public.pem",
        ], work)
        ctx.instance.write_file(f"{SAML_DIR}/private.pem", (work / "private.pem").read_bytes(), mode=0o600)
        ctx.instance.write_file(f"{SAML_DIR}/public.pem", (work / "public.pem").read_bytes(), mode=0o644)
    ctx.out(f"Generated a 2048-bit RSA key pair for SAML (CN={ctx.session.hostname}, valid 10 years):")
    ctx.out(f"  {SAML_DIR}/private.pem   private key (mode 600)")
    ctx.out(f"  {SAML_DIR}/public.pem    certificate")
    if existed:
        ctx.err("note: the previous keys were replaced: give the new public.pem to your identity provider")
    return 0


def cluster_generate_keys(ctx: Context) -> int:
    """Generate this node's SSH key pair for HA, once; existing keys are kept (safe, no restart)."""
    import tempfile

    private, public = f"{CLUSTER_DIR}/cluster_key", f"{CLUSTER_DIR}/cluster_key.pub"
    key = _read(ctx, public)
    if _read(ctx, private) is not None and key is not None:
        ctx.out(f"The cluster keys already exist in {CLUSTER_DIR}; kept them.")
    else:
        ctx.instance.var.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=ctx.instance.var, prefix=".cluster-") as tmp:
            work = Path(tmp)
            comment = f"alation-cluster@{ctx.session.hostname}"
            _tool("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", "key"], work)
            key = (work / "key.pub").read_bytes()
            ctx.instance.write_file(private, (work / "key").read_bytes(), mode=0o600)
            ctx.instance.write_file(public, key, mode=0o644)
        ctx.out(f"Generated the cluster SSH key pair in {CLUSTER_DIR} (cluster_key, cluster_key.pub).")
    ctx.out("Public key, for the other node of the pair:")
    ctx.out(key.decode("utf-8", "replace").strip())
    ctx.out("Safe, no restart of services required.")
    return 0


# License ---------------------------------------------------------------------------------------
class InvalidLicense(ShellError):
    """A license file that is not shaped like one, or one that has expired."""


LICENSE_KEYS = ("customer", "license_id", "edition", "expires", "signature")
LICENSE_MAX = 64 * 1024


def parse_license(raw: bytes) -> dict[str, str]:
    """The fields of a license file: `key = value` lines (and `#` comments), with at least LICENSE_KEYS,
    a hex signature and ISO dates. The signature is not verified: the emulator has no vendor key.
    """
    import re
    from datetime import date

    def invalid(why: str) -> InvalidLicense:
        return InvalidLicense(f"{LICENSE_FILE} is not a valid license: {why}")

    if len(raw) > LICENSE_MAX:
        raise invalid(f"too big (over {LICENSE_MAX} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid("not text") from exc
    fields: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or not re.fullmatch(r"[a-z_]+", key) or not value.isprintable():
            raise invalid(f"line {number} is not `key = value`")
        fields[key] = value
    missing = [key for key in LICENSE_KEYS if not fields.get(key)]
    if missing:
        raise invalid(f"missing {', '.join(missing)}")
    if not re.fullmatch(r"[0-9a-f]{64,}", fields["signature"]):
        raise invalid("the signature is not a hex digest")
    for key in ("issued", "expires"):
        if key in fields:
            try:
                date.fromisoformat(fields[key])
            except ValueError as exc:
                raise invalid(f"{key} = {fields[key]} is not a date (YYYY-MM-DD)") from exc
    return fields


def apply_license(ctx: Context) -> int:
    """Check and apply /data1/site_data/config/alation.lic; applying the same one again changes nothing."""
    import hashlib
    from datetime import date

    from alation_shell.training import clock

    raw = _read(ctx, LICENSE_FILE, LICENSE_MAX + 1)
    if raw is None:
        raise ShellError(f"no license file at {LICENSE_FILE}: copy the license file there first")
    fields = parse_license(raw)
    now = clock.now(ctx.instance)
    if date.fromisoformat(fields["expires"]) < now.date():
        raise InvalidLicense(f"the license in {LICENSE_FILE} expired on {fields['expires']}; not applied")
    summary = (f"{fields['edition']} edition for {fields['customer']} ({fields['license_id']}), "
               f"expires {fields['expires']}")
    digest = hashlib.sha256(raw).hexdigest()
    state = StateFile.under_var(ctx.instance, "license.json",
                                "remove it, then `alation_action apply_license` applies the license again")
    applied = state.read() or {}
    if state.field(applied, "sha256", lambda v: isinstance(v, str), "a string", required=False) == digest:
        ctx.out(f"License already applied: {summary}")
        return 0
    record = {k: v for k, v in fields.items() if k != "signature"}
    state.write({"file": LICENSE_FILE, "sha256": digest, "fields": record, "applied": now.isoformat()})
    ctx.out(f"License applied: {summary}")
    return 0


# Cluster modes ---------------------------------------------------------------------------------
def cluster_enter_standalone_mode(ctx: Context) -> int:
    """Take this node out of replication: alation.cluster.replication_mode becomes standalone."""
    mode = ctx.registry.get(REPLICATION_MODE)
    if mode == "standalone":
        ctx.out(f"This node is already standalone ({REPLICATION_MODE} = standalone); nothing to do.")
        return 0
    ctx.registry.set_many([(REPLICATION_MODE, "standalone")])
    ctx.out(f"Replication stopped: this node was the {mode}; it is now standalone.")
    ctx.out(f"{REPLICATION_MODE} = standalone")
    return 0


def cluster_failover(ctx: Context) -> int:
    """Promote this Secondary (checked and confirmed by `run`): standalone, application restarted."""
    ctx.registry.set_many([(REPLICATION_MODE, "standalone")])
    ctx.out("Failover: this node is promoted and now serves the catalog as a standalone node.")
    ctx.out(f"{REPLICATION_MODE} = standalone")
    started = [name for name, outcome in services.restart(ctx.instance, list(services.APP_GROUPS))
               if outcome == "started"]
    ctx.out(f"Restarted Alation services ({', '.join(services.APP_GROUPS)}): {len(started)} started")
    report_applied(ctx, services.covered_kinds(started))
    ctx.out(f"The cluster keys in {CLUSTER_DIR} are kept.")
    ctx.err("note: the search index must be rebuilt: run `alation_action rebuild_es_index` "
            "(it can take hours on a large catalog)")
    return 0
