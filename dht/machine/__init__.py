"""The sans-IO KRPC machine: one node's datagrams in, its datagrams, events and storage jobs out."""
