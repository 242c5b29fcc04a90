"""The Mainline screenshot's extras: data for the Samples and stored-data panels, and their pictures.

``khgui --profile mainline --screenshot FILE`` shows a get peers in the
main picture; before it, :func:`fill_mainline_panels` announces a few
info-hashes and puts an immutable item from our node (so the lab's stores
hold something to sample), runs one BEP 51 walk through the Samples panel
and reads the stored-data panel.  After it, :func:`save_panel_pictures`
saves the window again with the Samples & clients dock and then the
stored peers & items dock in front: ``FILE-samples.png`` and
``FILE-stored.png`` beside FILE.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .window.main_window import MainWindowView

#: Info-hashes announced for the picture.
ANNOUNCES = 6


async def fill_mainline_panels(window: "MainWindowView") -> None:
    """Announce, put an item, walk once and read the store (each step best effort, within seconds)."""
    node = window.controller.node
    if node is None:
        return
    try:
        for _ in range(ANNOUNCES):
            await asyncio.wait_for(node.announce_peer(os.urandom(20), 6881), 10)
        await asyncio.wait_for(node.put_immutable(b"hello from the explorer"), 10)
    except Exception:  # a slow lab: the pictures are still worth taking
        pass
    samples = window.samples
    if samples is not None:
        try:
            await asyncio.wait_for(samples.sampler.walk(node), 15)
        except Exception:
            pass
        samples.refresh_clients()
    try:
        await asyncio.wait_for(window.values.load_snapshot(), 5)
    except Exception:
        pass


async def save_panel_pictures(window: "MainWindowView", path: str) -> list[str]:
    """Save the window with the Samples and then the stored-data dock in front; the files written."""
    base = Path(path)
    saved = []
    for key, suffix in (("samples", "samples"), ("values", "stored")):
        dock = window.docks.get(key)
        if dock is None:
            continue
        dock.show()
        dock.raise_()
        if key == "samples" and window.samples is not None:
            window.samples.refresh_clients()
        await asyncio.sleep(0.2)  # one paint of the dock just raised
        target = base.with_name(f"{base.stem}-{suffix}{base.suffix or '.png'}")
        pixmap = window.grab()
        if not pixmap.isNull() and pixmap.save(str(target)):
            saved.append(str(target))
    return saved
