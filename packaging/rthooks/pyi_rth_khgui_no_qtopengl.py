"""Runtime hook of the Khashmir Explorer bundle: a placeholder PySide6.QtOpenGL.

The bundle leaves out the PySide6.QtOpenGL binding (8.5 MiB).  pyqtgraph
imports it eagerly (graphicsItems/PlotCurveItem.py, Qt/OpenGLHelpers.py) but
uses it only for OpenGL drawing (``useOpenGL`` / ``enableExperimental``
config options), which Khashmir Explorer never turns on.  The placeholder
satisfies the import; touching any of its attributes raises AttributeError.
If the app ever draws with OpenGL, drop "PySide6.QtOpenGL" from the spec's
excludes and this hook from its runtime_hooks.
"""

import sys
import types


class _NotBundled(types.ModuleType):
    def __getattr__(self, name: str) -> object:
        raise AttributeError(f"PySide6.QtOpenGL.{name}: the QtOpenGL binding is not part of this bundle")


if "PySide6.QtOpenGL" not in sys.modules:
    sys.modules["PySide6.QtOpenGL"] = _NotBundled("PySide6.QtOpenGL")
