"""The package boundaries, as import-linter contracts (pyproject.toml, [tool.importlinter]).

``dht`` never imports Qt, the GUI's libraries or ``khgui``; ``khgui`` and
``bench`` use only ``dht``'s public names.  The second test shows the
contracts bite: a module importing an internal of ``dht`` breaks them.
"""

from __future__ import annotations

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
    assert "2 kept, 0 broken" in result.stdout


def test_an_internal_import_from_khgui_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "tree"
    for name in ("dht", "khgui", "bench"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / "khgui" / "sneaky.py").write_text(textwrap.dedent('''
        """A module reaching into dht's internals."""
        from dht.routing import RoutingTable
    '''))
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "khgui.sneaky -> dht.routing" in result.stdout
