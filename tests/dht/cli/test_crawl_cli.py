"""``dht crawl``: progress on stderr, the census on stdout and in --out, bad input one line and exit 2."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Iterator

import pytest
from .test_cli import HEX40, Running, assert_usage_error, dht


@pytest.fixture(scope="module", params=["khashmir", "mainline"])
def swarm(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A swarm of 40 nodes of each profile; yields (profile, its bootstrap HOST:PORT)."""
    running = Running("--profile", request.param, "swarm", "--nodes", "40")
    try:
        line = running.first_line()
        match = re.fullmatch(r"swarm of 40 nodes, bootstrap (\S+)", line)
        assert match, line
        yield request.param, match.group(1)
        assert running.stop()[0] == 0
    finally:
        running.kill()


def test_a_full_crawl_prints_the_census_and_writes_the_nodes(swarm: tuple[str, str], tmp_path: Path) -> None:
    profile, bootstrap = swarm
    out = tmp_path / "nodes.csv"
    done = dht("--profile", profile, "crawl", "--bootstrap", bootstrap, "--full", "--budget", "0",
               "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"census: full crawl, 40 nodes found, 40 answered \(100.0 % of those asked\), "
                        r"\d+ queries in [\d.]+ s", lines[0]), lines[0]
    assert lines[1].startswith("size: 40 nodes (95 % interval 40-")
    assert "suspicions: none" in lines
    assert all(line.startswith("crawl: asked ") for line in done.stderr.splitlines())
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40 and all(HEX40.fullmatch(r["id"]) and r["answered"] == "True" for r in rows)


def test_a_zone_crawl_writes_its_census_as_json(swarm: tuple[str, str], tmp_path: Path) -> None:
    profile, bootstrap = swarm
    out = tmp_path / "census.json"
    done = dht("--profile", profile, "crawl", "--bootstrap", bootstrap, "--zone", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    census = json.loads(out.read_text())
    assert census["kind"] == "zone" and census["zone_bits"] == 1
    assert 0 < census["in_zone"] < 40 and census["estimate"] == pytest.approx(2 * census["in_zone"], rel=0.01)
    assert any(line.startswith("zone: ids starting ") for line in done.stdout.splitlines())


def test_a_table_crawl_lists_one_nodes_table(swarm: tuple[str, str]) -> None:
    profile, bootstrap = swarm
    done = dht("--profile", profile, "crawl", "--bootstrap", bootstrap, "--table", bootstrap)
    assert done.returncode == 0, done.stderr
    assert re.match(r"census: table crawl, \d+ nodes found, 1 answered", done.stdout)


@pytest.mark.parametrize("args, says", [
    (["crawl", "--bootstrap", "127.0.0.1:1"], "one of the arguments --zone --table --full is required"),
    (["crawl", "--bootstrap", "127.0.0.1:1", "--zone", "2", "--full"], "not allowed with"),
    (["crawl", "--bootstrap", "127.0.0.1:1", "--zone", "33"], "out of range"),
    (["crawl", "--bootstrap", "127.0.0.1:1", "--table", "[::1]:5"], "IPv6"),
    (["crawl", "--bootstrap", "127.0.0.1:1", "--full", "--budget", "-3"], "out of range"),
    (["crawl", "--bootstrap", "127.0.0.1:1", "--full", "--out", "nodes.txt"], ".csv or .json"),
    (["crawl", "--bootstrap", "127.0.0.1:1", "--full", "--out", "/no/such/dir/n.csv"], "no directory"),
    (["crawl", "--bootstrap", "127.0.0.1:1", "--full", "--timeout", "0.3"], "no bootstrap node answered"),
])
def test_bad_crawl_arguments_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    assert says in assert_usage_error(dht(*args))
