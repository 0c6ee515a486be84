"""The store's own privacy duties: erasure, retention, and keyed hashes of addresses."""
