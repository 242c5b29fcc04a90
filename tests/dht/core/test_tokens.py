"""Store tokens: sha1(secret + ip), bound to the IP, valid for three secrets."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dhtutil import query, raw_client, run, running_node

from dht.node import core_of
from dht import errors
from dht.core.tokens import KEPT_SECRETS, TokenSecrets

IP = "127.0.0.1"
OTHER_IP = "10.0.0.1"


def test_token_is_sha1_of_the_current_secret_and_ip() -> None:
    secrets = TokenSecrets()
    assert secrets.token_for(IP) == hashlib.sha1(secrets.secrets[0] + IP.encode()).digest()
    secrets.rotate()
    assert secrets.token_for(IP) == hashlib.sha1(secrets.secrets[0] + IP.encode()).digest()


def test_token_is_bound_to_the_ip() -> None:
    secrets = TokenSecrets()
    token = secrets.token_for(IP)
    assert secrets.check(token, IP)
    assert not secrets.check(token, OTHER_IP)
    assert not secrets.check(secrets.token_for(OTHER_IP), IP)
    assert secrets.check(secrets.token_for(OTHER_IP), OTHER_IP)


def test_token_valid_across_two_rotations_invalid_after_three() -> None:
    secrets = TokenSecrets()
    token = secrets.token_for(IP)
    secrets.rotate()
    assert secrets.check(token, IP)
    secrets.rotate()
    assert secrets.check(token, IP)
    secrets.rotate()
    assert not secrets.check(token, IP)
    assert len(secrets.secrets) == KEPT_SECRETS == 3


def test_each_rotation_makes_a_new_token() -> None:
    secrets = TokenSecrets()
    tokens = [secrets.token_for(IP)]
    for _ in range(4):
        secrets.rotate()
        tokens.append(secrets.token_for(IP))
    assert len(set(tokens)) == len(tokens)


def test_malformed_tokens_are_refused() -> None:
    secrets = TokenSecrets()
    token = secrets.token_for(IP)
    for bad in (b"", token[:-1], token + b"x", bytes(20), bytes([token[0] ^ 1]) + token[1:]):
        assert not secrets.check(bad, IP)


def test_node_checkpoints_rotate_tokens_on_the_wire(tmp_path: Path) -> None:
    """A token from find_node stores after two checkpoints, not after three."""

    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            addr = node.address
            reply = await client.ask_decoded(
                query("find_node", {b"id": b"C" * 20, b"target": b"T" * 20}), addr
            )
            token = reply[b"r"][b"token"]

            async def store(value: bytes) -> dict[bytes, Any]:
                args = {b"id": b"C" * 20, b"key": b"K" * 20, b"value": value, b"token": token}
                return await client.ask_decoded(query("store_value", args), addr)

            core_of(node).maintenance.checkpoint(maintenance=False)
            core_of(node).maintenance.checkpoint(maintenance=False)
            assert (await store(b"after two"))[b"y"] == b"r"
            core_of(node).maintenance.checkpoint(maintenance=False)
            refused = await store(b"after three")
            assert refused[b"y"] == b"e" and refused[b"e"][0] == errors.INVALID_TOKEN
            assert core_of(node).store.values(b"K" * 20) == [b"after two"]

    run(scenario())


def test_a_token_can_be_bound_to_a_target_too() -> None:
    """Mainline's tokens (libtorrent's): IP and info-hash or item target."""
    secrets = TokenSecrets(kept=2, size=4)
    a, b = b"A" * 20, b"B" * 20
    token = secrets.token_for(IP, a)
    assert len(token) == 4 and secrets.check(token, IP, a)
    assert not secrets.check(token, IP, b) and not secrets.check(token, IP) and not secrets.check(token, OTHER_IP, a)
    assert secrets.token_for(IP, a) == token != secrets.token_for(IP, b)
    secrets.rotate()
    assert secrets.check(token, IP, a)
    secrets.rotate()
    assert not secrets.check(token, IP, a)
