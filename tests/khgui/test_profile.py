"""khgui.profile: what the explorer asks a profile it can do is what the profile itself lists."""

from __future__ import annotations

import pytest

from dht import BEP42, CLIENT_VERSION, Config, Node
from khgui.profile import IPV6, ITEMS, PEERS, PUBLIC_NETWORK, SAMPLES, VALUES, can, features


@pytest.mark.parametrize("profile", ["khashmir", "mainline"])
def test_the_features_include_every_one_the_node_s_profile_lists(profile: str) -> None:
    config = Config(PROFILE=profile)
    assert Node(config).profile.features == features(config)


def test_khashmir_stores_values_and_mainline_peers_items_samples_and_a_public_network() -> None:
    khashmir, mainline = Config(), Config(PROFILE="mainline")
    assert features(None) == features(khashmir) == {VALUES}
    assert features(mainline) == {CLIENT_VERSION, BEP42, PEERS, ITEMS, SAMPLES, PUBLIC_NETWORK, IPV6}
    assert can(mainline, IPV6) and not can(khashmir, IPV6)  # dual-stack (BEP 32) on Mainline only
    assert can(mainline, PUBLIC_NETWORK) and not can(khashmir, PUBLIC_NETWORK)
    assert can(mainline, BEP42) and not can(None, BEP42)
