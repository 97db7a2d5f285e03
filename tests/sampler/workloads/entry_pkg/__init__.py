"""A package run with `python -m entry_pkg` by the entry-point tests."""
