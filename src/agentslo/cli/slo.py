"""PLACEHOLDER: `agentslo slo` (being written)."""

import typer

app = typer.Typer(help="SLOs from OpenSLO specs.")
