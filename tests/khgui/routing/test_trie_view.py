"""Tests of BucketTrieView: it follows the model, selects on click, flashes and fades."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt

from khgui.routing import trie_view
from khgui.routing.model import BucketListModel, bucket_rows
from khgui.routing.trie_view import ROW_H, BucketTrieView

from .test_routing_model import TOP, caterpillar


@pytest.fixture
def view(qtbot: Any) -> tuple[BucketTrieView, BucketListModel]:
    model = BucketListModel()
    v = BucketTrieView(model)
    qtbot.addWidget(v)
    v.resize(500, 200)
    v.show()
    return v, model


def test_view_follows_model(view: tuple[BucketTrieView, BucketListModel]) -> None:
    v, model = view
    model.set_buckets(bucket_rows(caterpillar(), None))
    assert v.minimumHeight() == 3 * ROW_H
    model.set_buckets(bucket_rows(caterpillar()[:2], None))
    assert v.minimumHeight() == 2 * ROW_H
    assert not v.grab().isNull()


def test_click_selects_a_bucket(qtbot: Any, view: tuple[BucketTrieView, BucketListModel]) -> None:
    v, model = view
    model.set_buckets(bucket_rows(caterpillar(), (TOP - 1).to_bytes(20, "big")))
    with qtbot.waitSignal(v.bucket_selected, timeout=1000) as blocker:
        qtbot.mouseClick(v, Qt.MouseButton.LeftButton, pos=QPoint(40, ROW_H * 2 + ROW_H // 2))
    assert blocker.args == [2] and v.selected() == 2
    text = v.tooltip_text(2)
    assert "our id" in text and format(3 * TOP // 4, "040x") in text and "127.0.0.1:4000" in text
    model.set_buckets(bucket_rows(caterpillar()[:1], None))
    assert v.selected() == -1


def test_flash_fades(qtbot: Any, monkeypatch: pytest.MonkeyPatch, view: tuple[BucketTrieView, BucketListModel]) -> None:
    v, model = view
    monkeypatch.setattr(trie_view, "FLASH_SECONDS", 0.3)
    model.set_buckets(bucket_rows(caterpillar(), None))
    v.flash(TOP // 2, TOP, "split")
    v.flash(0, TOP // 2, "merge")
    assert v.flashing() == 2
    qtbot.waitUntil(lambda: v.flashing() == 0, timeout=2000)
