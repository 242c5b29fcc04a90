"""The network map: every lab node on the ring of the 160-bit id space, and lookups across it."""
