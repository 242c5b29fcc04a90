"""The live RPC traffic panel: every KRPC message in and out of our node.

:mod:`.model` holds the rows in a bounded columnar ring buffer,
:mod:`.filter` filters them, :mod:`.export` writes them as JSON lines,
:mod:`.message_view` shows one decoded message and :mod:`.panel` puts it
all together as :class:`~khgui.traffic.panel.TrafficPanel`.
"""
