"""The package boundaries, as import-linter contracts (pyproject.toml, [tool.importlinter]).

``dht`` never imports Qt, the GUI's libraries or ``khgui``; ``khgui`` and
``bench`` use only ``dht``'s public names; no two modules or folders of one
package of ``khgui`` import each other (no import circle).  The second and
third tests show the contracts bite: a module importing an internal of
``dht``, or a module of the window importing the window back, breaks them.
The last two keep :class:`dht.Node`'s surface to what docs/dht-api.md
documents, its inside (:class:`dht.node_core.NodeCore`) out of reach.
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
    assert "3 kept, 0 broken" in result.stdout


def tree_copy(tmp_path: Path) -> Path:
    """A copy of the packages and pyproject.toml, to break."""
    copy = tmp_path / "tree"
    for name in ("dht", "khgui", "bench"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_an_internal_import_from_khgui_breaks_the_contract(tmp_path: Path) -> None:
    copy = tree_copy(tmp_path)
    (copy / "khgui" / "sneaky.py").write_text(textwrap.dedent('''
        """A module reaching into dht's internals."""
        from dht.routing import RoutingTable
    '''))
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "khgui.sneaky -> dht.routing" in result.stdout


def test_an_import_circle_in_khgui_breaks_the_contract(tmp_path: Path) -> None:
    """The menus importing the window back (even for type checking only) is a circle."""
    copy = tree_copy(tmp_path)
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
    from dht.node_core import NodeCore

    inside = {"table", "store", "transport", "request", "insert_node", "report", "checkpoint",
              "krpc_ping", "khashmir", "mainline", "events", "tokens", "stats_counters"}
    assert inside <= public_names(NodeCore())
    assert not inside & public_names(dht.Node())
    assert not hasattr(dht.Node(), "__dict__")  # a facade of slots: nothing is added to it by accident
