"""The ``agentslo`` command line; one module per command."""
