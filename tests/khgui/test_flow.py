"""The explorer's flow: no dead end after a capture or a stopped lab, published values
kept across restarts, the starting state said, messages that can be read (issue 22).

Real controllers on real labs (loopback, port 0) and the real main window, offscreen.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QMessageBox

from khgui.bridge import EventBridge
from khgui.common.keys import KeyRegistry
from khgui.common.published import published_path
from khgui.controller import NetworkController
from khgui.lookup.panel import LookupPanel
from khgui.values.panel import ValuesPanel
from khgui.window.dialogs import ResizeLabDialog, lab_hosts_text
from khgui.window.main_window import MainWindowView
from khgui.window.status import StatusPanel

from .conftest import FAST, LAB_SIZE


def window_for(qtbot: Any, tmp_path: Path, controller: NetworkController, bridge: EventBridge) -> MainWindowView:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindowView(controller, bridge, settings, persist=False)
    qtbot.addWidget(window)
    return window


# -- item 1: no dead end ---------------------------------------------------------------------

def test_suspend_then_resume_brings_back_the_lab_and_rejoins(live: Any, run: Callable[[Any], Any]) -> None:
    controller, _ = live
    run(controller.suspend())
    assert controller.node is None and controller.lab is None and controller.suspended
    assert controller.network_name() == "Khashmir \u00b7 stopped while a capture is shown"
    assert run(controller.resume())
    assert not controller.suspended and controller.lab_size == LAB_SIZE
    assert controller.joined and controller.network == "lab"
    assert not run(controller.resume())  # nothing suspended: nothing done


def test_rejoin_lab_forms_a_lab_as_big_as_the_last_when_none_runs(
        qtbot: Any, tmp_path: Path, live: Any, run: Callable[[Any], Any]) -> None:
    controller, bridge = live
    window = window_for(qtbot, tmp_path, controller, bridge)
    run(controller.resize_lab(0))
    assert controller.lab_size == 0 and not controller.joined
    assert window.commands.rejoin.isEnabled()  # not greyed out: it starts a lab
    assert run(window.rejoin_lab())
    assert controller.lab_size == LAB_SIZE and controller.joined and controller.network == "lab"


def test_open_capture_says_what_it_stops_and_close_capture_brings_it_back(
        qtbot: Any, tmp_path: Path, live: Any, run: Callable[[Any], Any], wait_for: Callable[..., None]) -> None:
    controller, bridge = live
    window = window_for(qtbot, tmp_path, controller, bridge)
    window.show()
    # before: File ▸ Open capture… says what it stops, and Cancel stops nothing
    window.capture.open_dialog()
    box = window.capture.confirm
    assert box is not None and box.isVisible()
    assert f"stops our node and the local lab of {LAB_SIZE} nodes" in box.text()
    assert "Close capture starts them again" in box.text()
    gc.collect()  # the "Don't ask again" box lives as long as the question (a freed one crashed Qt)
    assert box.checkBox() is not None and not box.checkBox().isChecked()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.capture.confirm is None and window.capture.session is None and controller.joined
    # a recording shows in the status bar while it runs
    path = tmp_path / "ours.pcapng"
    assert window.capture.record(str(path))
    window._update_counts()
    assert window.status.recording.isVisible() and window.status.recording.text().startswith("\u25cf REC ")
    assert str(path) in window.status.recording.toolTip()
    window.status.recording.clicked.emit()  # a click on it stops it
    assert not window.capture.recorder.recording and not window.status.recording.isVisible()
    # open: the network stops, every live action with it
    assert window.capture.open(str(path))
    wait_for(lambda: controller.node is None and controller.lab is None, 10)
    assert "Close capture starts the lab and our node again" in window.capture.session.bar.banner.text()
    assert not window.commands.rejoin.isEnabled() and not window.commands.join.isEnabled()
    assert "Close capture" in window.routing.summary.text()
    assert "Close capture" in window.panels["lookup"].disabled_reason()
    # close: the lab and our node are back, joined as before
    window.capture.close_capture()
    wait_for(lambda: controller.joined and controller.lab_size == LAB_SIZE, 15)
    assert controller.network == "lab" and window.commands.rejoin.isEnabled() and window.commands.leave.isEnabled()
    assert window.windowTitle() == f"Khashmir \u00b7 local lab of {LAB_SIZE} nodes \u2014 Khashmir Explorer"


# -- item 5: published values survive a restart ------------------------------------------------

def test_published_values_are_kept_and_republished_into_the_next_network(
        qtbot: Any, tmp_path: Path, qasync_loop: Any, run: Callable[[Any], Any], wait_for: Callable[..., None]) -> None:
    data_dir = tmp_path / "node"
    bridge = EventBridge(interval_ms=20)
    first_registry = KeyRegistry()
    first = NetworkController(bridge, config=FAST, registry=first_registry)
    try:
        assert run(first.start(lab_size=LAB_SIZE, data_dir=str(data_dir)))
        form = LookupPanel(first, bridge, registry=first_registry)
        qtbot.addWidget(form)
        result = run(form.store_from_form("hello", "world"))
        assert result is not None and result.accepted
        (key, value), = first_registry.published()
        assert value == b"world"
    finally:
        run(first.stop())
    kept = json.loads(published_path(data_dir, "khashmir").read_text(encoding="utf-8"))
    assert [(e["key"], e["value"], e["text"]) for e in kept["published"]] == [(key.hex(), b"world".hex(), "hello")]

    # the next run: another registry (a new process), a new lab (another network), the same data directory
    registry = KeyRegistry()
    second = NetworkController(bridge, config=FAST, registry=registry)
    messages: list[str] = []
    second.message.connect(messages.append)
    try:
        values = ValuesPanel(second, bridge, registry=registry)
        qtbot.addWidget(values)
        assert run(second.start(lab_size=LAB_SIZE, data_dir=str(data_dir)))
        assert registry.is_published(key, b"world") and registry.text_for(key) == "hello"
        wait_for(lambda: second.republished == 1, 10)
        assert any("republished 1 of your 1 published value" in m for m in messages)
        # listed, marked as ours
        wait_for(lambda: (key, b"world") in values.model.pairs())
        assert "1 published by you" in values.status_label.text()
        # and found in the new network, from a node of the new lab
        finder = second.lab.nodes[LAB_SIZE // 2]
        assert b"world" in run(finder.get_value(key))
    finally:
        run(second.stop())
        bridge.stop()


def test_a_damaged_file_of_published_values_is_moved_aside_and_said(tmp_path: Path, qapp: Any) -> None:
    path = published_path(tmp_path, "khashmir")
    path.write_text("{not json", encoding="utf-8")
    registry = KeyRegistry()
    errors: list[str] = []
    registry.error.connect(errors.append)
    assert registry.attach(path) == 0
    assert errors and "damaged" in errors[0] and path.name in errors[0]
    assert (tmp_path / (path.name + ".bad")).read_text(encoding="utf-8") == "{not json"
    registry.mark_published(b"\x01" * 20, b"v", when=5.0)  # kept from now on
    kept = json.loads(path.read_text(encoding="utf-8"))
    assert kept["published"] == [{"key": "01" * 20, "value": "76", "text": "", "when": 5.0}]


# -- the starting state, the status bar, the banner ------------------------------------------

def test_the_window_says_the_node_is_starting_until_it_runs(
        qtbot: Any, tmp_path: Path, qasync_loop: Any, run: Callable[[Any], Any]) -> None:
    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge, config=FAST)
    controller.mark_starting()
    window = window_for(qtbot, tmp_path, controller, bridge)
    try:
        assert window.windowTitle() == "Khashmir \u00b7 starting\u2026 \u2014 Khashmir Explorer"
        assert window.routing.summary.text().startswith("starting our node")
        assert window.panels["lookup"].disabled_reason().startswith("Starting our node")
        assert "No node" not in window.panels["values"].status_label.text()
        assert run(controller.start(lab_size=4, data_dir=str(tmp_path / "n")))
        assert not controller.starting and controller.joined
        assert window.windowTitle() == "Khashmir \u00b7 local lab of 4 nodes \u2014 Khashmir Explorer"
        assert window.panels["lookup"].disabled_reason() == ""
    finally:
        run(controller.stop())
        bridge.stop()


def message_room(window: MainWindowView) -> int:
    """The width the status bar draws its messages in: left of its first permanent field."""
    bar = window.statusBar()
    fields = [w for w in (window.log, window.status, window.mainline_status) if w is not None and w.isVisible()]
    return min(w.mapTo(bar, w.rect().topLeft()).x() for w in fields) - 8


def overlapping_fields(window: MainWindowView) -> str:
    """"" when every visible field of the status bar has its full width and none is over
    another; else which are (the fields are laid out on Qt's next pass)."""
    bar = window.statusBar()
    fields = [w for w in bar.findChildren(QLabel) if w.isVisible() and w.text()]
    fields.sort(key=lambda w: w.mapTo(bar, w.rect().topLeft()).x())
    for left, right in zip(fields, fields[1:]):
        if left.mapTo(bar, left.rect().topRight()).x() >= right.mapTo(bar, right.rect().topLeft()).x():
            return f"{left.text()!r} over {right.text()!r}"
    for field in fields:
        if field.width() < field.sizeHint().width() or field.mapTo(bar, field.rect().topRight()).x() > bar.width():
            return f"{field.text()!r} squeezed or cut"
    return ""


def test_status_messages_have_room_and_fields_do_not_overlap(
        qtbot: Any, tmp_path: Path, mainline: Any, run: Callable[[Any], Any], wait_for: Callable[..., None]) -> None:
    controller, bridge = mainline  # the fuller status bar of the two profiles
    window = window_for(qtbot, tmp_path, controller, bridge)
    window.resize(1152, 648)  # the window on a 1280x720 screen
    window.show()
    qtbot.waitUntil(lambda: window.statusBar().width() >= 1100, timeout=2000)
    assert window.capture.record(str(tmp_path / "r.pcapng"))  # the indicator takes room too
    run(controller.lab_control.kill())
    text = window.statusBar().currentMessage()
    assert text.startswith("killed lab node ")
    window._update_counts()
    qtbot.waitUntil(lambda: message_room(window) >= window.statusBar().fontMetrics().horizontalAdvance(text),
                    timeout=2000)
    assert window.log.texts()[-1] == text  # and it is kept
    assert window.status.recording.isVisible()
    # no field drawn over another or squeezed, with a message or without (fewer fields then)
    qtbot.waitUntil(lambda: not overlapping_fields(window), timeout=2000)
    window.statusBar().clearMessage()  # the fields that made room are back, as many as fit
    assert window.status.buckets.isVisible() and window.mainline_status.external.isVisible()
    qtbot.waitUntil(lambda: not overlapping_fields(window), timeout=2000)
    window.capture.stop_recording()
    # clicking the id says it copied it
    window.status.node_id.copied.emit(controller.node.id.hex())
    assert window.statusBar().currentMessage().startswith(f"node id {controller.node.id.hex()[:12]}")


def test_contacts_shown_while_not_joined_are_said_to_be_saved_ones(qtbot: Any) -> None:
    status = StatusPanel()
    qtbot.addWidget(status)
    status.show_joined(False)
    status.show_counts(24, 3)
    assert status.contacts.text() == "24 saved contacts"
    status.show_joined(True)
    status.show_counts(24, 3)
    assert status.contacts.text() == "24 contacts"


def test_a_long_error_wraps_in_the_banner_and_stays_in_the_log(qtbot: Any, tmp_path: Path, qasync_loop: Any) -> None:
    bridge = EventBridge()
    window = window_for(qtbot, tmp_path, NetworkController(bridge), bridge)
    window.resize(1280, 720)
    window.show()
    text = ("could not join the public Mainline DHT: no answer within 8 s. Is this computer online? "
            "Network \u25b8 Public DHT routers\u2026 edits the list; " * 3).strip()
    window.show_error(text)
    label = window.banner.label
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=2000)
    assert window.banner.geometry().right() <= window.width()
    needed = label.fontMetrics().boundingRect(label.contentsRect(), int(label.alignment()) | 0x1000, text)  # wrap
    assert needed.height() <= label.contentsRect().height() and needed.width() <= label.contentsRect().width()
    assert label.fontMetrics().horizontalAdvance(text) > label.width()  # it did need more than one line
    window.banner.close_button.click()
    assert not window.banner.isVisible()
    assert window.log.texts() == [text]  # a trace is left


def test_resize_lab_dialog_says_where_the_nodes_run(qtbot: Any, live: Any, run: Callable[[Any], Any]) -> None:
    controller, _ = live
    run(controller.lab_control.refresh_nodes())
    dialog = ResizeLabDialog(controller.lab_size, None, controller.lab_addresses())
    qtbot.addWidget(dialog)
    hosts = sorted({h for h, _ in controller.lab_addresses()}, key=lambda h: tuple(map(int, h.split("."))))
    assert hosts[0] != "127.0.0.1" or len(hosts) == 1  # a lab node never takes ours
    assert hosts[0] in dialog.note.text() and hosts[-1] in dialog.note.text()
    assert "127.0.0.2 up" in lab_hosts_text(set())


def test_published_values_belong_to_the_data_directory_they_were_kept_in(tmp_path: Path, qapp: Any) -> None:
    registry = KeyRegistry()
    early = (b"\x02" * 20, b"before any node")
    registry.mark_published(*early, when=1.0)  # before a node ran: goes to the first file
    first, second = published_path(tmp_path / "a", "khashmir"), published_path(tmp_path / "b", "khashmir")
    first.parent.mkdir()
    second.parent.mkdir()
    assert registry.attach(first) == 0
    registry.mark_published(b"\x01" * 20, b"ours", when=2.0)
    assert set(registry.published()) == {early, (b"\x01" * 20, b"ours")}
    assert registry.attach(second) == 0 and registry.published() == {}  # another node's directory
    assert registry.attach(first) == 2 and set(registry.published()) == {early, (b"\x01" * 20, b"ours")}


def test_resume_joins_the_public_dht_again_as_it_was(qasync_loop: Any, tmp_path: Path,
                                                      run: Callable[[Any], Any]) -> None:
    """A Mainline lab of another controller stands in for the public routers (it outlives the suspension)."""
    from .conftest import MAINLINE

    routers = NetworkController(EventBridge(), config=MAINLINE)
    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge, config=MAINLINE)
    try:
        assert run(routers.start(lab_size=8, data_dir=str(tmp_path / "routers")))
        router = routers.lab_runner.bootstrap_address
        assert run(controller.start(lab_size=0, data_dir=str(tmp_path / "n")))
        assert run(controller.join_public([router], read_only=True, host="127.0.0.1", query_budget=20.0))
        run(controller.suspend())
        assert controller.node is None
        assert run(controller.resume())
        assert controller.joined and controller.network_name() == "Mainline \u00b7 public DHT, read-only"
        assert controller.node.config.READ_ONLY and controller.node.stats().query_budget == 20.0
    finally:
        run(controller.stop())
        run(routers.stop())
        bridge.stop()
