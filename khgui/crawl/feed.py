"""Our node's crawl events, through an :class:`~khgui.bridge.EventBridge` of their own.

The window's bridge follows the node in focus (a lab node, when one is
put in focus), but a crawl is always our node's: its ``CrawlProgress`` and
``CrawlFinished`` must reach the Crawl panel whichever node the other
panels show.  :class:`CrawlEvents` is what the bridge attaches to: it
subscribes to our node and passes on only those two events, and the node's
warnings about a crawl (a crawl of a busy network sends thousands of
datagrams whose events the panel does not need).  The bridge does the
rest as for every panel: it queues them in its bounded deque and hands
them to Qt in batches on its timer.
"""

from __future__ import annotations

from typing import Any, Callable

from dht.events import CrawlFinished, CrawlProgress, NodeWarning

#: The events the Crawl panel reads (and the node's warnings about a crawl: one that
#: could not start, having no contact to start from or a name that does not resolve).
CRAWL_EVENTS = (CrawlProgress, CrawlFinished)


def crawl_event(event: Any) -> bool:
    """Whether the Crawl panel reads ``event``."""
    return isinstance(event, CRAWL_EVENTS) or (isinstance(event, NodeWarning) and event.text.startswith("crawl "))


class CrawlEvents:
    """A node's crawl events only, for :meth:`khgui.bridge.EventBridge.attach`."""

    def __init__(self, node: Any) -> None:
        self.node = node

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Subscribe ``callback`` to the node's crawl events; the unsubscribe function."""
        def crawl_only(event: Any) -> None:
            if crawl_event(event):
                callback(event)

        unsubscribe: Callable[[], None] = self.node.subscribe(crawl_only)
        return unsubscribe
