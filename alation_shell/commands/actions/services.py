"""The handlers of the actions on the application services: restart_alation, deploy_conf_all."""

from __future__ import annotations

from alation_shell.commands.actions import read_file
from alation_shell.commands.base import Context
from alation_shell.commands.supervisor import report_applied
from alation_shell.node import clock, supervisord

CONF_DIR = "/opt/alation/site/config"


def restart_alation(ctx: Context) -> int:
    """Stop and start the application programs; the changes waiting for them take effect."""
    groups = ", ".join(supervisord.APP_GROUPS)
    stopped = [name for name, outcome in supervisord.stop(ctx.instance, list(supervisord.APP_GROUPS))
               if outcome == "stopped"]
    ctx.out(f"Stopping Alation services ({groups}): {len(stopped)} stopped")
    started = [name for name, outcome in supervisord.start(ctx.instance, list(supervisord.APP_GROUPS))
               if outcome == "started"]
    ctx.out(f"Starting Alation services ({groups}): {len(started)} started")
    report_applied(ctx, supervisord.covered_kinds(started))
    _deploy_still_pending(ctx)
    ctx.out("Alation restarted.")
    return 0


def _deploy_still_pending(ctx: Context) -> None:
    waiting = supervisord.pending_restarts(ctx.instance).get("deploy")
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
        unchanged = read_file(ctx, path) == content
        if not unchanged:
            ctx.instance.write_file(path, content, mtime=clock.timestamp(ctx.instance))
        settings = "1 setting" if len(lines) == 1 else f"{len(lines)} settings"
        ctx.out(f"{'unchanged' if unchanged else 'wrote'} {CONF_DIR}/{name} ({settings})")
    deployed = supervisord.clear_pending_restarts(ctx.instance, ["deploy"]).get("deploy")
    if deployed:
        supervisord.add_pending_restart(ctx.instance, "alation", deployed)
        ctx.err("note: deployed; " + catalog.restart_note("alation", deployed))
    ctx.out("Configuration deployed.")
    return 0
