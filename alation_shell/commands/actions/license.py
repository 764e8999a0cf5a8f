"""The handler of apply_license: check the license file and record it as applied."""

from __future__ import annotations

from alation_shell.commands.actions import read_file
from alation_shell.commands.base import Context
from alation_shell.errors import ShellError
from alation_shell.instance import VAR_LICENSE
from alation_shell.node import layout
from alation_shell.storage import StateFile

LICENSE_FILE = "/" + layout.LICENSE_FILE


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

    from alation_shell.node import clock

    raw = read_file(ctx, LICENSE_FILE, LICENSE_MAX + 1)
    if raw is None:
        raise ShellError(f"no license file at {LICENSE_FILE}: copy the license file there first")
    fields = parse_license(raw)
    now = clock.now(ctx.instance)
    if date.fromisoformat(fields["expires"]) < now.date():
        raise InvalidLicense(f"the license in {LICENSE_FILE} expired on {fields['expires']}; not applied")
    summary = (f"{fields['edition']} edition for {fields['customer']} ({fields['license_id']}), "
               f"expires {fields['expires']}")
    digest = hashlib.sha256(raw).hexdigest()
    state = StateFile.under_var(ctx.instance, VAR_LICENSE,
                                "remove it, then `alation_action apply_license` applies the license again")
    applied = state.read() or {}
    if state.field(applied, "sha256", lambda v: isinstance(v, str), "a string", required=False) == digest:
        ctx.out(f"License already applied: {summary}")
        return 0
    record = {k: v for k, v in fields.items() if k != "signature"}
    state.write({"file": LICENSE_FILE, "sha256": digest, "fields": record, "applied": now.isoformat()})
    ctx.out(f"License applied: {summary}")
    return 0
