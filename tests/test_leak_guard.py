"""The guard of tests/conftest.py: a test that leaves something running fails, naming it.

The tests under check run in a pytest of their own (a subprocess, with the same
conftest), so what they leave behind dies with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

LEAKY = '''
import asyncio
import subprocess
import sys
import threading

from dht import Config, Node

KEPT = []


def test_clean(tmp_path):
    async def scenario():
        node = Node(Config(), host="127.0.0.1", port=0, data_dir=tmp_path)
        await node.start()
        await node.stop()

    asyncio.run(scenario())


def test_leaves_a_node_running(tmp_path):
    loop = asyncio.new_event_loop()
    node = Node(Config(), host="127.0.0.1", port=0, data_dir=tmp_path)
    loop.run_until_complete(node.start())
    KEPT.append((loop, node))


def test_leaves_a_thread_running():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="forgotten")
    thread.start()
    KEPT.append(stop)


def test_leaves_a_child_process_running():
    KEPT.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))


def test_after_them_is_clean_again():
    pass


def teardown_module():
    for kept in KEPT:
        if isinstance(kept, threading.Event):
            kept.set()
        elif isinstance(kept, subprocess.Popen):
            kept.kill()
            kept.wait()
'''


def test_a_test_leaving_a_node_a_thread_or_a_process_running_fails(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_leaky=LEAKY)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", timeout=120)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 5 and outcomes.get("errors") == 4, result.stdout.str()
    result.stdout.re_match_lines_random([
        r"_+ ERROR at teardown of test_leaves_a_node_running _+",
        r"this test left running: .*1 UDP socket\(s\) open \(a node or a lab not stopped\?\): 127\.0\.0\.1:\d+",
        r"this test left running: thread 'forgotten' \(not a daemon\)",
        r"this test left running: child process \d+ \(.*time\.sleep\(60\)\)",
        # the module too: its node still runs when its last test has ended
        r"test_leaky\.py \(its module-scoped fixtures\) left running: .*1 UDP socket.*",
    ])
    assert "ERROR at teardown of test_clean " not in result.stdout.str()
