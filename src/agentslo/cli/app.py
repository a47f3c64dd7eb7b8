"""The ``agentslo`` command: one module per subcommand, assembled here."""

from __future__ import annotations

import typer

from agentslo import __version__

app = typer.Typer(
    name="agentslo",
    help="Measure AI agents the way SREs measure services: verified-outcome SLOs, "
    "percentiles, cost per successful task, burn-rate alerts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentslo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """agentslo command line."""


def _register() -> None:
    # Imported here so that `agentslo --help` stays fast and each command owns its module.
    from agentslo.cli import demo, export, import_cmd, report, slo, trial

    app.command("demo")(demo.demo)
    app.command("import")(import_cmd.import_)
    app.command("report")(report.report)
    app.command("export")(export.export)
    app.add_typer(slo.app, name="slo")
    app.add_typer(trial.app, name="trial")
    from agentslo.cli import gate

    app.command("gate")(gate.gate)
    from agentslo.cli import detect_cmd, findings

    app.command("detect")(detect_cmd.detect)
    app.command("findings")(findings.findings)
    from agentslo.cli import keys, serve

    app.command("serve")(serve.serve)
    app.add_typer(keys.app, name="keys")
    from agentslo.cli import audit

    app.command("audit")(audit.audit)


_register()


def main() -> None:
    """Console-script entry point."""
    app()
