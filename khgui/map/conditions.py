"""Network ▸ Lab conditions…: the lab's latency, jitter, loss and churn, changed while it runs.

:class:`LabConditionsDialog` edits a :class:`dht.Conditions`: a choice of
links -- flat (one latency for every datagram) or the public-Internet
preset (each lab node its own latency, drawn from round trips measured on
the Mainline DHT; the latency box is then off) -- and four spin boxes (the
ranges are the ones ``dht.Conditions`` accepts, so what the dialog returns
is always valid).  Apply and OK emit :attr:`applied` with the conditions;
the controller applies them to the running lab.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QVBoxLayout, QWidget,
)

from dht import Conditions

#: The largest values offered (``dht.Conditions`` accepts up to a minute and 6,000 a minute).
MAX_MS = 10_000.0
MAX_CHURN = 600.0
#: The presets offered, as (label, ``Conditions.preset``).
PRESETS = (("Flat: one latency for every node", "flat"),
           ("Public Internet: each node its own latency", "public"))


class LabConditionsDialog(QDialog):
    """Latency, jitter, loss and churn of the local lab.

    Signals:
        applied(object): the ``dht.Conditions`` to apply (Apply or OK).
    """

    applied = Signal(object)

    def __init__(self, current: Conditions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lab conditions")
        self.preset = QComboBox()
        for label, name in PRESETS:
            self.preset.addItem(label, name)
        public = Conditions.public()
        self.preset.setItemData(1, f"Each lab node's datagrams are held back by a delay of its own, drawn once "
                                   f"from round trips measured on the Mainline DHT ({public.describe().split(' + ')[0]})"
                                   f"; jitter and loss go on top", Qt.ItemDataRole.ToolTipRole)
        self.preset.currentIndexChanged.connect(lambda _: self._preset_changed(chosen=True))
        self.latency = self._spin(0, MAX_MS, 1, " ms", current.latency_ms)
        self.jitter = self._spin(0, MAX_MS, 1, " ms", current.jitter_ms)
        self.loss = self._spin(0, 100, 1, " %", current.loss * 100)
        self.churn = self._spin(0, MAX_CHURN, 1, " nodes/min", current.churn_per_min)
        self.latency.setToolTip("Least delay of every datagram a lab node sends")
        self.jitter.setToolTip("A random extra delay, from 0 to this, per datagram")
        self.loss.setToolTip("Share of the datagrams lab nodes send that are lost")
        self.churn.setToolTip("Lab nodes killed a minute; each comes back after about 30 s")
        form = QFormLayout()
        form.addRow("Links:", self.preset)
        form.addRow("Latency:", self.latency)
        form.addRow("Jitter:", self.jitter)
        form.addRow("Loss:", self.loss)
        form.addRow("Churn:", self.churn)
        note = QLabel("Applied inside the lab to what its nodes send; our own node's queries to them "
                      "are answered late or not at all. Watch soft timeouts, timeouts and failing "
                      "contacts in the look-up, traffic and routing panels.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Apply
                                   | QDialogButtonBox.StandardButton.Reset | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._ok)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self._apply)
        buttons.button(QDialogButtonBox.StandardButton.Reset).clicked.connect(lambda: self.set_conditions(Conditions()))
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.setMinimumWidth(380)
        self._set_preset(current.preset)

    @staticmethod
    def _spin(lo: float, hi: float, decimals: int, suffix: str, value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(lo, hi)
        spin.setDecimals(decimals)
        spin.setSuffix(suffix)
        spin.setValue(min(hi, max(lo, value)))
        return spin

    def _set_preset(self, name: str) -> None:
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(max(0, self.preset.findData(name)))
        self.preset.blockSignals(False)
        self._preset_changed(chosen=False)

    def _preset_changed(self, chosen: bool) -> None:
        """The latency box is off under the public preset; ``chosen`` (by the user):
        no jitter becomes the preset's own."""
        public = self.preset.currentData() == "public"
        self.latency.setEnabled(not public)
        self.latency.setSpecialValueText("drawn for each node" if public else "")
        if public:
            self.latency.setValue(0)
            if chosen and self.jitter.value() == 0:
                self.jitter.setValue(Conditions.public().jitter_ms)

    def conditions(self) -> Conditions:
        loss, churn = self.loss.value() / 100, self.churn.value()
        if self.preset.currentData() == "public":
            return Conditions.public(loss, self.jitter.value(), churn)
        return Conditions(self.latency.value(), self.jitter.value(), loss, churn)

    def set_conditions(self, c: Conditions) -> None:
        self._set_preset(c.preset)
        self.latency.setValue(c.latency_ms)
        self.jitter.setValue(c.jitter_ms)
        self.loss.setValue(c.loss * 100)
        self.churn.setValue(c.churn_per_min)

    def _apply(self) -> None:
        self.applied.emit(self.conditions())

    def _ok(self) -> None:
        self._apply()
        self.accept()
