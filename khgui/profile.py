"""What the DHT spoken can do, asked of its profile: the one place the explorer learns it.

The window, the menus and the headless runs never test the profile's name
or duck-type a panel: they ask :func:`can` whether the profile of a
:class:`dht.Config` (or a running node's) has a feature, and build what
fits.  A running node says what its wire carries in
``node.profile.features`` (``dht.CLIENT_VERSION``, ``dht.BEP42``; see
docs/dht-api.md).  The explorer needs to know more, and before any node
runs (the window is built first), so until dht lists them this module
names the features it needs and proposes them for ``WireProfile.features``:

* :data:`VALUES`: Khashmir's store and find_value of values under keys;
* :data:`PEERS`: BEP 5's get_peers and announce_peer (and BEP 33 scrapes);
* :data:`ITEMS`: BEP 44's immutable and mutable items;
* :data:`SAMPLES`: BEP 51's sample_infohashes;
* :data:`PUBLIC_NETWORK`: a public DHT on the Internet, joined through
  routers (``dht.PUBLIC_ROUTERS``; read-only by BEP 43).

:func:`features` is the only place in khgui that reads ``Config.PROFILE``
to learn them; once dht lists them, it returns the profile's own set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dht import BEP42, CLIENT_VERSION

if TYPE_CHECKING:
    from dht import Config

VALUES = "values"
PEERS = "peers"
ITEMS = "items"
SAMPLES = "samples"
PUBLIC_NETWORK = "public_network"

#: The features of each profile, as dht's ``WireProfile.features`` would list them
#: (the ones dht lists today, CLIENT_VERSION and BEP42, plus the ones proposed above).
_PROPOSED: dict[str, frozenset[str]] = {
    "khashmir": frozenset({VALUES}),
    "mainline": frozenset({CLIENT_VERSION, BEP42, PEERS, ITEMS, SAMPLES, PUBLIC_NETWORK}),
}


def features(config: "Config | None") -> frozenset[str]:
    """What the profile of ``config`` can do (None: dht's default profile, Khashmir)."""
    name = str(config.PROFILE) if config is not None else "khashmir"
    return _PROPOSED.get(name, frozenset())


def can(config: "Config | None", feature: str) -> bool:
    """Whether the profile of ``config`` has ``feature`` (one of this module's names, or dht's)."""
    return feature in features(config)
