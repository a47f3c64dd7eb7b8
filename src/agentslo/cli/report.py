"""PLACEHOLDER: `agentslo report` (being written)."""


def report() -> None:
    """Not yet available."""
