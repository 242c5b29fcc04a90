"""A lab in worker processes: the window's process runs none of the lab's Python (:class:`LabProcesses`)."""

from .client import LabProcesses, default_processes

__all__ = ["LabProcesses", "default_processes"]
