"""PyInstaller entry script for the Khashmir Explorer bundle (``khgui.app:main``).

``khgui/__main__.py`` uses a relative import, so it cannot be the bundle's
top-level script; this file is the same thing with an absolute import.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    # A lab's worker processes are this executable started again: they run the
    # worker here, before the app is imported (dht.LabProcesses, start method spawn).
    multiprocessing.freeze_support()
    from khgui.app import main

    sys.exit(main())
