"""PyInstaller entry script for the Khashmir Explorer bundle (``khgui.app:main``).

``khgui/__main__.py`` uses a relative import, so it cannot be the bundle's
top-level script; this file is the same thing with an absolute import.
"""

import sys

from khgui.app import main

if __name__ == "__main__":
    sys.exit(main())
