"""The Samples panel (Mainline): BEP 51 sampling, a network-size estimate, and the clients that answer."""
