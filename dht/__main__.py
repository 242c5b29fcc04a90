"""``python -m dht``: the headless command line."""

import multiprocessing
import sys

from .cli.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a lab's worker processes (dht.LabProcesses)
    sys.exit(main())
