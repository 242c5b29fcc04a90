"""The event vocabulary of the DHT: the public name of :mod:`dht.core.events`.

khgui, bench and users import ``dht.events``; the layers inside ``dht`` import
:mod:`dht.core.events`, where it is defined (docs/architecture.md).
"""

from .core.events import *  # noqa: F401,F403
from .core.events import __all__ as __all__
