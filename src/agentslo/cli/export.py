"""PLACEHOLDER: `agentslo export` (being written)."""


def export() -> None:
    """Not yet available."""
