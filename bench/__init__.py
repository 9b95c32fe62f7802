"""aidflow benchmark suite (python -m bench all)."""
