"""``python -m dht``: the headless command line."""

import sys

from .cli.main import main

sys.exit(main())
