"""The ``dht`` command line: ``python -m dht`` and the ``dht`` script.

:mod:`.main` runs the commands; :mod:`.args` checks what they accept (its
argument types are public: the explorer's own command line uses them).
"""

from .args import OneLineParser, address_argument, build_parser, int_in_range, port_number
from .main import main

__all__ = ["OneLineParser", "address_argument", "build_parser", "int_in_range", "main", "port_number"]
