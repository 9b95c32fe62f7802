"""Adapters: storage selection, transcodings, catalogue loading, import/export and the CLI."""
