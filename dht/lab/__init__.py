"""Local labs: many nodes on loopback, their network conditions, a lab on its own thread."""

from .conditions import Conditions
from .lab import Lab
from .thread import LabNodeInfo, LabThread, NodeView

__all__ = ["Conditions", "Lab", "LabNodeInfo", "LabThread", "NodeView"]
