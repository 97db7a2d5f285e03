"""A small Flask shop the code-provenance tests profile (run as `python -m shopapp SECONDS`)."""
