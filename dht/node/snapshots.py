"""A node's snapshots: its statistics and its routing table, as plain frozen values.

What :meth:`dht.node.facade.Node.stats` and :meth:`~dht.node.facade.Node.routing_table`
return: copies made now, which do not change afterwards (the explorer and
bench read them on their own time).  The profile's part -- what it holds,
the external address its answers voted for, its clients -- comes from the
node's protocol object.
"""

from __future__ import annotations

import dataclasses

from ..rpc import clock
from ..core import ids
from ..core.stats import StatsSnapshot
from ..core.table_info import BucketInfo, bucket_infos
from .core import NodeCore


def stats(node: NodeCore) -> StatsSnapshot:
    keys, values = node.protocol.held()
    table = node.table_or_none
    snap = node.stats_counters.snapshot(
        contacts=len(table) if table else 0,
        buckets=len(table.buckets) if table else 0,
        k=node.config.K,
        keys=keys,
        values=values,
        uptime=clock.now() - node.started_at if node.running else 0.0,
        table=table,
    )
    budget = node.requests.budget
    external = node.protocol.external_address()
    address = external[0] if external is not None else None
    return dataclasses.replace(
        snap,
        external_address=address,
        external_votes=external[1] if external is not None else 0,
        id_valid=ids.id_fits(node.id, address) if address is not None and node.id else None,
        query_budget=budget.rate,
        queries_waiting=budget.waiting,
        queries_delayed=budget.delayed,
    )


def routing_table(node: NodeCore) -> list[BucketInfo]:
    return bucket_infos(node.table, node.protocol.clients, mainline=node.protocol.checks_ids)
