"""PLACEHOLDER: `agentslo import` (being written)."""


def import_() -> None:
    """Not yet available."""
