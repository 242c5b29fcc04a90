"""The package boundaries, as import-linter contracts (pyproject.toml, [tool.importlinter]).

``dht`` never imports Qt, the GUI's libraries or ``khgui``; ``khgui`` and
``bench`` use only ``dht``'s public names; no two modules or folders of one
package of ``khgui`` import each other (no import circle).  The second and
third tests show the contracts bite: a module importing an internal of
``dht``, or a module of the window importing the window back, breaks them.
The last two keep :class:`dht.Node`'s surface to what docs/dht-api.md
documents, its inside (:class:`dht.node.core.NodeCore`) out of reach.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the packages found in ``tree`` (and only there)."""
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(exe), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )


def test_the_import_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def copy_tree(tmp_path: Path) -> Path:
    """A copy of the packages and pyproject.toml, to break."""
    copy = tmp_path / "tree"
    for name in ("dht", "khgui", "bench"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_an_internal_import_from_khgui_breaks_the_contract(tmp_path: Path) -> None:
    copy = copy_tree(tmp_path)
    (copy / "khgui" / "sneaky.py").write_text(textwrap.dedent('''
        """A module reaching into dht's internals."""
        from dht.core.routing import RoutingTable
    '''))
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "khgui.sneaky -> dht.core.routing" in result.stdout


def test_the_layers_and_the_profiles_independence_bite(tmp_path: Path) -> None:
    """The core importing the node breaks the layers; Khashmir importing Mainline breaks
    their independence; a cycle inside the core breaks the acyclic contract."""
    copy = copy_tree(tmp_path)
    (copy / "dht" / "core" / "upward.py").write_text('"""Up a layer."""\nfrom dht.node.core import NodeCore\n')
    (copy / "dht" / "khashmir" / "sideways.py").write_text('"""Across."""\nfrom dht.mainline.handlers import MainlineHandlers\n')
    (copy / "dht" / "core" / "loop_a.py").write_text('"""A."""\nfrom dht.core import loop_b\n')
    (copy / "dht" / "core" / "loop_b.py").write_text('"""B."""\nfrom dht.core import loop_a\n')
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "dht.core.upward -> dht.node.core" in result.stdout
    assert "dht.khashmir.sideways -> dht.mainline.handlers" in result.stdout
    assert "No cycles are allowed in dht.core." in result.stdout


def test_an_import_circle_in_khgui_breaks_the_contract(tmp_path: Path) -> None:
    """The menus importing the window back (even for type checking only) is a circle."""
    copy = copy_tree(tmp_path)
    menus = copy / "khgui" / "window" / "menus.py"
    menus.write_text(menus.read_text() + textwrap.dedent('''
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from .main_window import MainWindowView
    '''))
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "No cycles are allowed in khgui.window" in result.stdout


def public_names(obj: object) -> set[str]:
    return {n for n in dir(obj) if not n.startswith("_")}


def test_every_public_name_of_node_is_documented() -> None:
    """Node's surface is what docs/dht-api.md documents: a name added to Node without
    its line in the docs (or an internal one left public) fails here."""
    import dht

    doc = (ROOT / "docs" / "dht-api.md").read_text()
    documented = set(re.findall(r"\bnode\.([a-z_][a-z0-9_]*)", doc))
    undocumented = public_names(dht.Node()) - documented
    assert not undocumented, f"Node's public names missing from docs/dht-api.md: {sorted(undocumented)}"
    # and the check is not empty: the node's first steps are there
    assert {"start", "stop", "stats", "routing_table", "set_query_budget"} <= public_names(dht.Node()) & documented


def test_node_keeps_its_inside_out_of_reach() -> None:
    """The routing table, store, transport, handlers and maintenance are the core's,
    never Node's (khgui and bench see a node only through its documented names)."""
    import dht
    from dht.node.core import NodeCore

    inside = {"table", "store", "transport", "request", "requests", "maintenance", "protocol",
              "events", "stats_counters", "sender_seen", "adopt_id"}
    assert inside <= public_names(NodeCore())
    assert not inside & public_names(dht.Node())
    assert not hasattr(dht.Node(), "__dict__")  # a facade of slots: nothing is added to it by accident


def test_no_class_of_dht_is_assembled_from_mixins() -> None:
    """Composition, not inheritance: every class of dht has at most one base of dht's own
    (the protocols it extends aside), and the node's inside inherits nothing."""
    import importlib
    import inspect
    import pkgutil
    import typing

    import dht
    from dht.node.core import NodeCore

    assert NodeCore.__bases__ == (object,)
    mixed = []
    seen = 0
    for info in pkgutil.walk_packages(dht.__path__, prefix="dht."):
        if info.name == "dht.__main__":
            continue
        module = importlib.import_module(info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            seen += 1
            own = [b for b in cls.__bases__  # the standard library's (ValueError, str, Enum) aside
                   if b.__module__ not in ("builtins", "enum", "typing") and not getattr(b, "_is_protocol", False)]
            if len(own) > 1:
                mixed.append(f"{cls.__module__}.{cls.__qualname__}{tuple(b.__name__ for b in own)}")
    assert seen > 100
    assert mixed == []
