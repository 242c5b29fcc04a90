"""``python -m khgui``: start Khashmir Explorer."""

import multiprocessing
import sys

from .app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a lab's worker processes (dht.LabProcesses)
    sys.exit(main())
