"""Adapters own I/O: the Redis job store, the data sources (sample files, central DB)."""
