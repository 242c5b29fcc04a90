"""The memory a benchmark measures: this process's resident set, as the kernel counts it."""

from __future__ import annotations


def rss_bytes() -> int:
    """This process's resident set size in bytes (Linux: VmRSS of /proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
