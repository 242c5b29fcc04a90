"""Statistics panel: traffic rates, RTT distribution, table size and per-method counts."""
