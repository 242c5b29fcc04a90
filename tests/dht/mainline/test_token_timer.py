"""A Mainline node's token secrets rotate on a timer while it runs, and never once it stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dhtutil import HOST, run, wait_until

from dht import Config, Node
from dht.node import core_of

INTERVAL = 0.05


def test_token_secrets_rotate_every_interval_while_running_and_not_after(tmp_path: Path) -> None:
    """Every TOKEN_INTERVAL a new secret goes first (two kept); started again, the node
    rotates on one timer, not two; stopped, it rotates no more."""

    async def scenario() -> None:
        node = Node(Config(PROFILE="mainline", TOKEN_INTERVAL=INTERVAL), host=HOST, data_dir=tmp_path)
        await node.start()
        tokens = core_of(node).protocol.handlers.tokens
        seen = [tokens.secrets[0]]

        def rotated() -> bool:
            if tokens.secrets[0] != seen[-1]:
                seen.append(tokens.secrets[0])
            return len(seen) >= 4

        await wait_until(rotated, what="three rotations")
        assert len(tokens.secrets) == 2 and tokens.secrets[1] in seen
        await node.stop()
        await node.start()  # again: one timer
        assert core_of(node).protocol._token_timer is not None
        await node.stop()
        stopped_at = list(tokens.secrets)
        protocol = core_of(node).protocol
        # the timer fires once after the stop, rotates nothing and is not armed again
        await wait_until(lambda: protocol._token_timer is None, what="the last timer")
        await asyncio.sleep(0)
        assert tokens.secrets == stopped_at and protocol._token_timer is None

    run(scenario(), 20)
