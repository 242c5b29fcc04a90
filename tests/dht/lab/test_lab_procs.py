"""A lab in worker processes (dht.LabProcesses): formation across processes, commands, a lost worker."""

from __future__ import annotations

import asyncio
import heapq
import os
import pickle
import signal
from pathlib import Path

import pytest
from dhtutil import STEADY, run, wait_until

from dht import Conditions, LabProcesses, LabThread
from dht.errors import LocalError
from dht.events import LabConditionsChanged, LabNodeChanged, LabProgress, LabWorkerLost, ValueStored


def gone(pid: int | None) -> bool:
    assert pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_lab_in_two_processes_forms_every_node_with_its_k_closest_and_obeys_commands() -> None:
    size, k = 150, STEADY.K

    async def scenario() -> None:
        labs = LabProcesses(size, STEADY, processes=2)
        got: list[object] = []
        labs.subscribe(lambda batch: got.extend(e for _, e in batch))
        await labs.start()
        pids = labs.pids
        try:
            assert labs.size == size and labs.processes == 2 and len(set(pids)) == 2
            assert os.getpid() not in pids
            infos = await labs.overview()
            assert len(infos) == size and all(i.alive for i in infos)
            assert len({i.host for i in infos}) == size  # each node its own loopback address
            stages = [e for e in got if isinstance(e, LabProgress)]
            assert stages[-1].stage == "formed" and stages[-1].done == size
            # Every node holds its K closest, wherever they run (both workers' nodes checked).
            ids = [int.from_bytes(i.id, "big") for i in infos]
            views = await asyncio.gather(*(labs.inspect(i.id) for i in infos))
            for info, view in zip(infos, views):
                me = int.from_bytes(info.id, "big")
                known = {c.contact.id for b in view.routing for c in b.contacts}
                closest = heapq.nsmallest(k, (i for i in ids if i != me), key=lambda i: i ^ me)
                missing = [i for i in closest if i.to_bytes(20, "big") not in known]
                assert not missing, f"node {info.address} lacks {len(missing)} of its {k} closest"
            assert labs.bootstrap_address == (infos[0].host, infos[0].port)
            # Worker k's nodes have the ids of the k-th half of the id space, so most
            # introductions stayed inside a worker (before: half of them crossed).
            half = 1 << 159
            assert all((int.from_bytes(i.id, "big") >= half) == labs.worker_of(i.id) for i in infos)
            crossing, planned = labs.crossing
            assert planned > size * k and 0 < crossing < planned // 4, labs.crossing

            # A watched node's events cross the boundary; a store from another node reaches it.
            target = infos[7]
            events: list[object] = []
            unwatch = await labs.watch(lambda batch: events.extend(e for _, e in batch), target.id, (ValueStored,))
            result = await labs.store_from(infos[8].id, target.id, b"across", local=False)
            assert target.id in {c.id for c in result.accepted}
            await wait_until(lambda: any(isinstance(e, ValueStored) for e in events), 5, "the value stored seen")
            assert b"across" in [v.value for v in (await labs.inspect(target.id)).values]
            await unwatch()

            victim = infos[3]
            killed = await labs.kill(victim.id)
            assert not killed.alive and labs.size == size - 1
            assert not (await labs.inspect(victim.id)).info.alive
            revived = await labs.revive()
            assert revived.id == victim.id and revived.alive and labs.size == size
            added = await labs.add()
            assert added.alive and added.id not in {i.id for i in infos}
            await labs.resize(size - 10)
            assert labs.size == size - 10
            overview = await labs.overview()
            assert sum(i.alive for i in overview) == size - 10 and len(overview) == size + 1
            with pytest.raises(LocalError, match="no lab node has id"):
                await labs.inspect(b"\x01" * 20)

            await labs.set_conditions(Conditions(latency_ms=5.0))
            assert labs.conditions == Conditions(latency_ms=5.0)
            await wait_until(lambda: any(isinstance(e, LabConditionsChanged) for e in got), 5, "conditions reported")
            assert len([e for e in got if isinstance(e, LabConditionsChanged)]) == 1  # once, not once a worker
            await wait_until(lambda: any(isinstance(e, LabNodeChanged) and e.change == "added" for e in got),
                             5, "the addition reported")
        finally:
            await labs.stop()
        assert not labs.running and all(gone(p) for p in pids)

    run(scenario(), timeout=60)


def test_a_worker_killed_is_reported_its_nodes_shown_dead_and_nothing_hangs() -> None:
    async def scenario() -> None:
        labs = LabProcesses(120, STEADY, processes=2)
        lost: list[LabWorkerLost] = []
        labs.subscribe(lambda batch: lost.extend(e for _, e in batch if isinstance(e, LabWorkerLost)))
        await labs.start()
        pids = labs.pids
        try:
            infos = await labs.overview()
            theirs = [i for i in infos if int(i.host.rsplit(".", 1)[1]) % 2 == 1]  # node 1, 3, ...: worker 1's
            assert len(theirs) == 60
            pid = pids[1]
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)  # a command on its way when it dies
            pending = asyncio.ensure_future(labs.inspect(theirs[0].id))
            await asyncio.sleep(0)
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(LocalError, match="lab worker 1 ended"):
                await asyncio.wait_for(pending, 10)
            await wait_until(lambda: bool(lost), 10, "the lost worker reported")
            assert (lost[0].worker, lost[0].nodes, lost[0].exitcode) == (1, 60, -signal.SIGKILL)
            assert labs.size == 60 and labs.workers_alive == 1
            after = await labs.overview()
            dead = {i.id for i in after if not i.alive}
            assert dead == {i.id for i in theirs}
            with pytest.raises(LocalError, match="has ended"):
                await labs.kill(theirs[1].id)
            await labs.kill(next(i for i in infos if i not in theirs).id)  # the other worker still obeys
        finally:
            await asyncio.wait_for(labs.stop(), 30)
        assert all(gone(p) for p in pids)

    run(scenario(), timeout=60)


def test_a_process_lab_restarted_on_its_data_directory_gets_its_ids_back(tmp_path: Path) -> None:
    async def ids_of() -> set[bytes]:
        labs = LabProcesses(60, STEADY, processes=2, data_dir=tmp_path)
        await labs.start()
        try:
            return {i.id for i in await labs.overview()}
        finally:
            await labs.stop()

    first = run(ids_of(), timeout=60)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proc-0", "proc-1"]
    assert run(ids_of(), timeout=60) == first


def test_bad_process_counts_are_refused_and_events_pickle() -> None:
    with pytest.raises(LocalError, match="at least one process"):
        LabProcesses(10, processes=0)
    with pytest.raises(LocalError, match="at least one node"):
        LabProcesses(0)
    assert LabProcesses(3, processes=8).processes == 3  # never more workers than nodes
    event = LabWorkerLost(1.0, 2, 30, -9)
    assert pickle.loads(pickle.dumps(event)) == event


def test_store_from_on_a_lab_thread() -> None:
    async def scenario() -> None:
        labs = LabThread(8, STEADY, threaded=False)
        await labs.start()
        try:
            infos = await labs.overview()
            result = await labs.store_from(infos[1].id, infos[2].id, b"v")
            assert result.accepted and labs.config is labs.lab.config
            with pytest.raises(LocalError):
                await labs.store_from(b"\x02" * 20, b"k" * 20, b"v")
        finally:
            await labs.stop()

    run(scenario())


def test_id_slices_split_the_id_space_and_a_part_draws_its_ids_in_its_own(tmp_path: Path) -> None:
    from dht.lab.lab import Lab
    from dht.lab.procs.worker import id_slice

    space = 1 << 160
    for parts in (1, 2, 3, 7):
        slices = [id_slice(k, parts) or (0, space) for k in range(parts)]
        assert slices[0][0] == 0 and slices[-1][1] == space
        assert all(a[1] == b[0] for a, b in zip(slices, slices[1:]))  # contiguous, no gap, no overlap
    lo, hi = id_slice(1, 3) or (0, space)

    async def scenario(seed: int) -> list[bytes]:
        lab = Lab(6, STEADY, data_dir=tmp_path, part=(1, 3), id_range=(lo, hi), seed=seed)
        await lab.start_part()
        try:
            return [n.id for n in lab.nodes]
        finally:
            await lab.stop()

    with pytest.raises(LocalError):
        Lab(2, STEADY, id_range=(5, 5))
    ids = run(scenario(5))
    assert len(set(ids)) == 6 and all(lo <= int.from_bytes(i, "big") < hi for i in ids)
    assert run(scenario(6)) == ids  # restarted on its database (another seed): the same ids


def test_swarm_in_processes_runs_stops_cleanly_and_refuses_bad_values_in_one_line() -> None:
    import re
    import subprocess
    import sys

    from ..cli.test_cli import Running

    for args, said in ((["--nodes", "3", "--processes", "5"], "--processes"),
                       (["--nodes", "30", "--processes", "2", "--base-port", "4000"], "--base-port"),
                       (["--nodes", "30", "--processes", "-1"], "--processes")):
        result = subprocess.run([sys.executable, "-m", "dht", "swarm", *args], capture_output=True, text=True,
                                timeout=30, stdin=subprocess.DEVNULL)
        lines = result.stderr.splitlines()
        assert result.returncode == 2 and len(lines) == 1 and said in lines[0], result.stderr
    proc = Running("swarm", "--nodes", "120", "--processes", "2")
    try:
        line = proc.first_line()
        assert re.fullmatch(r"swarm of 120 nodes in 2 processes, bootstrap 127\.0\.0\.2:\d+", line), line
        with open(f"/proc/{proc.proc.pid}/task/{proc.proc.pid}/children") as f:
            children = [int(p) for p in f.read().split()]
        workers = [p for p in children if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert len(workers) == 2
        status, err = proc.stop()
        assert status == 0 and "Traceback" not in err, err
        assert all(gone(p) for p in workers)
    finally:
        proc.kill()
