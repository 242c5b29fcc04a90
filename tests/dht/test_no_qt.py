"""The DHT never imports Qt: neither at run time nor in its source (nor do its tests)."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import dht

FORBIDDEN = {"PySide6", "qasync", "pyqtgraph", "khgui", "PyQt5", "PyQt6", "shiboken6"}
DHT_DIR = Path(dht.__file__).parent
TESTS_DIR = Path(__file__).parent


def dht_modules() -> list[str]:
    """Every module of dht, in every folder (walked, not listed)."""
    names = ["dht"] + [m.name for m in pkgutil.walk_packages([str(DHT_DIR)], prefix="dht.")]
    return [n for n in names if n != "dht.__main__"]  # running it would start the CLI


def test_importing_every_dht_module_loads_no_qt() -> None:
    modules = dht_modules()
    assert {"dht.node.core", "dht.wire.krpc", "dht.cli.main", "dht.lab.lab", "dht.events",
            "dht.core.routing", "dht.mainline.stores.items"} <= set(modules)
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout))
    assert set(modules) <= loaded
    assert not {m for m in loaded if m.split(".")[0] in FORBIDDEN}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module", "__import__",
        ):
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    roots.add(arg.value.split(".")[0])
    return roots


def test_no_dht_source_imports_qt() -> None:
    sources = sorted(DHT_DIR.rglob("*.py"))
    assert len(sources) >= 60
    for path in sources:
        assert not imported_roots(path) & FORBIDDEN, path


def test_the_dht_tests_do_not_import_qt() -> None:
    sources = sorted(TESTS_DIR.rglob("*.py"))
    assert Path(__file__) in sources
    for path in sources:
        assert not imported_roots(path) & FORBIDDEN, path


def test_the_static_check_sees_imports() -> None:
    probe = TESTS_DIR / "test_no_qt.py"
    roots = imported_roots(probe)
    assert {"ast", "json", "subprocess", "dht"} <= roots
