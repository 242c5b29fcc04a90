"""Routing-table panel: the k-buckets as a binary trie, their contacts and split history."""
