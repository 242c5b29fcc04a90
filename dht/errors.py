"""The typed errors of the DHT: the public name of :mod:`dht.core.errors`.

khgui, bench and users import ``dht.errors``; the layers inside ``dht`` import
:mod:`dht.core.errors`, where it is defined (docs/architecture.md).
"""

from .core.errors import *  # noqa: F401,F403
from .core.errors import __all__ as __all__
