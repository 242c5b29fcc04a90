"""The node: the public facade (:class:`Node`) over its inside, on asyncio.

:mod:`.facade` is what users call (docs/dht-api.md); :mod:`.core` the
state and lifecycle it hands over to.
"""

from .facade import Node, core_of

__all__ = ["Node", "core_of"]
