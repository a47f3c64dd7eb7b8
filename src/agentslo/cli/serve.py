"""``agentslo serve``: the OTLP/HTTP receiver, REST API and Prometheus endpoint."""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from agentslo.cli.common import DbOption, err_console, handle_errors
from agentslo.durations import parse_duration
from agentslo.ingest.otlp import protobuf_runtime
from agentslo.ingest.prices import load_prices
from agentslo.ingest.redact import Redactor
from agentslo.server import ServerConfig, create_app
from agentslo.server.gates import GateEvaluator
from agentslo.slo import load_slos
from agentslo.store import default_path, open_store
from agentslo.store.api_keys import check_project, list_keys

__all__ = ["is_loopback", "serve"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _seconds(text: str) -> float:
    seconds = parse_duration(text).total_seconds()
    if seconds <= 0:
        raise ValueError(f"--gates-every {text!r}: give a positive duration such as 30s or 5m")
    return seconds


def _default_workers() -> int:
    """One decode worker per CPU but one (the server process answers HTTP and
    commits), up to 4; none on one CPU. More workers than that compete with the
    server process for the same cores: measured on 2 cores, 2 workers cost 40% more
    CPU per span than 1 and ingested less."""
    cpus = os.cpu_count() or 1
    return 0 if cpus < 2 else min(4, cpus - 1)


def _default_store_threads() -> int:
    return max(1, (os.cpu_count() or 1) // 2)


@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (4318 is OTLP/HTTP's).")] = 4318,
    db: DbOption = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Accept requests without an API key, all in one project (local use only).",
        ),
    ] = False,
    project: Annotated[
        str, typer.Option(help="With --no-auth: the project every row is tagged with.")
    ] = "default",
    capture_content: Annotated[
        bool,
        typer.Option(
            "--capture-content",
            help="Store message contents (prompts, completions, tool arguments/results), "
            "redacted. Off: contents are dropped on arrival.",
        ),
    ] = False,
    redact: Annotated[
        list[str] | None,
        typer.Option(
            "--redact",
            help="Extra regular expression to redact from captured contents (repeatable).",
        ),
    ] = None,
    default_redaction: Annotated[
        bool,
        typer.Option(
            "--default-redaction/--no-default-redaction",
            help="Redact secrets, keys, tokens and e-mail addresses from captured contents.",
        ),
    ] = True,
    prices: Annotated[
        Path | None,
        typer.Option(
            help="Model price file (JSON/YAML, USD per million tokens) over the shipped one."
        ),
    ] = None,
    slo: Annotated[
        list[Path] | None,
        typer.Option(
            "--slo", help="OpenSLO spec file or folder for /v1/slo and /metrics (repeatable)."
        ),
    ] = None,
    gates: Annotated[
        Path | None,
        typer.Option(
            "--gates",
            help="Gates file (docs/gates.md) re-evaluated over live traffic: GET /v1/gates, "
            "/metrics.",
        ),
    ] = None,
    gates_every: Annotated[
        str, typer.Option(help="How often the gates are re-evaluated (e.g. 30s, 5m).")
    ] = "30s",
    max_body_mb: Annotated[
        float, typer.Option(help="Largest request body accepted, MB (413 beyond).")
    ] = 16.0,
    max_queue: Annotated[
        int,
        typer.Option(
            help="Spans acknowledged and not yet in the database before requests are "
            "shed with 429 (about 800 bytes of memory each, with its journal record)."
        ),
    ] = 500_000,
    decode_workers: Annotated[
        int | None,
        typer.Option(
            help="Processes that decode and map OTLP bodies (default: one per CPU but one, "
            "up to 4; 0 decodes in the server process)."
        ),
    ] = None,
    store_threads: Annotated[
        int | None,
        typer.Option(
            help="DuckDB threads (default: half the CPUs, at least 1; the decode workers and "
            "the writer need the rest)."
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Receive OTLP traces from instrumented agents and serve reports, SLOs and /metrics."""
    import uvicorn

    path = db if db is not None else default_path()
    if no_auth:
        check_project(project)
        if not is_loopback(host):
            err_console.print(
                f"[bold yellow]warning:[/] --no-auth on {host}: anyone who can reach this port "
                "can write and read your traces; bind 127.0.0.1 or use API keys",
                highlight=False,
            )
    else:
        with open_store(path) as store:
            if not [k for k in list_keys(store.con) if k.revoked_at is None]:
                raise ValueError(
                    f"{path}: no API key yet; create one with `agentslo keys create --project "
                    "NAME --db ...`, or run with --no-auth on 127.0.0.1 for local use"
                )
    config = ServerConfig(
        db=path,
        no_auth_project=project if no_auth else None,
        capture_content=capture_content,
        redactor=Redactor.build(redact or (), defaults=default_redaction),
        prices=load_prices(prices),
        slos=load_slos(slo) if slo else [],
        max_body=int(max_body_mb * 1024 * 1024),
        max_queued=max_queue,
        decode_workers=_default_workers() if decode_workers is None else max(0, decode_workers),
        store_threads=_default_store_threads() if store_threads is None else max(1, store_threads),
        evaluators=[GateEvaluator(gates, interval_s=_seconds(gates_every))] if gates else [],
    )
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    runtime = protobuf_runtime()
    if runtime != "upb":
        err_console.print(
            f"[bold yellow]warning:[/] the protobuf runtime is {runtime!r}, not 'upb': OTLP "
            "protobuf bodies parse several times slower. Unset "
            "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION, or `pip install --upgrade protobuf`",
            highlight=False,
        )
    err_console.print(
        f"agentslo serve: {path} on http://{host}:{port} "
        f"({'no auth, project ' + project if no_auth else 'API keys'}; "
        f"contents {'captured, redacted' if capture_content else 'dropped'})",
        highlight=False,
    )
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=30,
    )
