"""The live RPC traffic panel: every KRPC message in and out of our node.

:mod:`.model` holds the rows in a bounded columnar ring buffer,
:mod:`.filter` filters them and exports the rows shown as JSON lines, and
:mod:`.panel` puts it all together as :class:`~khgui.traffic.panel.TrafficPanel`
with the decoded message tree.
"""
