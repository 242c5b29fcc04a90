"""What the DHT spoken can do, asked of its profile: the one place the explorer learns it.

The window, the menus and the headless runs never test the profile's name
or duck-type a panel: they ask :func:`can` whether the profile of a
:class:`dht.Config` (or a running node's) has a feature, and build what
fits.  The features are dht's (``dht.profile_features``, the same set a
running node lists in ``node.profile.features``; docs/dht-api.md):

* :data:`VALUES`: Khashmir's store and find_value of values under keys;
* :data:`PEERS`: BEP 5's get_peers and announce_peer (and BEP 33 scrapes);
* :data:`ITEMS`: BEP 44's immutable and mutable items;
* :data:`SAMPLES`: BEP 51's sample_infohashes;
* :data:`PUBLIC_NETWORK`: a public DHT on the Internet, joined through
  routers (``dht.PUBLIC_ROUTERS``; read-only by BEP 43);
* ``dht.CLIENT_VERSION``, ``dht.BEP42``: what the wire carries.

:func:`features` is the only place in khgui that reads ``Config.PROFILE``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dht import BEP42, CLIENT_VERSION, IPV6, ITEMS, PEERS, PUBLIC_NETWORK, SAMPLES, VALUES, profile_features

if TYPE_CHECKING:
    from dht import Config

__all__ = ["BEP42", "CLIENT_VERSION", "IPV6", "ITEMS", "PEERS", "PUBLIC_NETWORK", "SAMPLES", "VALUES", "can", "features"]


def features(config: "Config | None") -> frozenset[str]:
    """What the profile of ``config`` can do (None: dht's default profile, Khashmir)."""
    return profile_features(str(config.PROFILE) if config is not None else "khashmir")


def can(config: "Config | None", feature: str) -> bool:
    """Whether the profile of ``config`` has ``feature`` (one of this module's names, or dht's)."""
    return feature in features(config)
