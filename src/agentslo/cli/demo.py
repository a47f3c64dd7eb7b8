"""PLACEHOLDER: `agentslo demo` (being written)."""


def demo() -> None:
    """Not yet available."""
