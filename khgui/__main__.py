"""``python -m khgui``: start Khashmir Explorer."""

import sys

from .app import main

sys.exit(main())
