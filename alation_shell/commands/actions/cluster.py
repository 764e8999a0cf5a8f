"""The handlers of the cluster (HA) modes: cluster_enter_standalone_mode, cluster_failover."""

from __future__ import annotations

from alation_shell.commands.actions.keys import CLUSTER_DIR
from alation_shell.commands.base import Context
from alation_shell.commands.supervisor import report_applied
from alation_shell.node import supervisord

REPLICATION_MODE = "alation.cluster.replication_mode"


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
    started = [name for name, outcome in supervisord.restart(ctx.instance, list(supervisord.APP_GROUPS))
               if outcome == "started"]
    ctx.out(f"Restarted Alation services ({', '.join(supervisord.APP_GROUPS)}): {len(started)} started")
    report_applied(ctx, supervisord.covered_kinds(started))
    ctx.out(f"The cluster keys in {CLUSTER_DIR} are kept.")
    ctx.err("note: the search index must be rebuilt: run `alation_action rebuild_es_index` "
            "(it can take hours on a large catalog)")
    return 0
