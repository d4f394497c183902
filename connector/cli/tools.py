"""The demonstration, the events reference and the simulated platforms."""

from __future__ import annotations

from pathlib import Path

import click

from connector.cli.main import fail, main


@main.command()
@click.option("--workdir", default="var/sandbox", show_default=True, type=click.Path(file_okay=False))
@click.option("--port", default=0, type=int, help="Port for the simulated Mosaic (0: any free port).")
@click.option(
    "--childview-port", default=0, type=int, help="Port for the simulated Childview (0: any free port)."
)
@click.option(
    "--connector-port", default=0, type=int, help="Port for the connector and its dashboard (0: any)."
)
@click.option(
    "--serve", is_flag=True, help="Keep the connector, its dashboard and the simulators running until Ctrl-C."
)
def sandbox(workdir: str, port: int, childview_port: int, connector_port: int, serve: bool) -> None:
    """Replay a sample team's month against simulated Mosaic and Childview, and show what each now holds."""
    from connector.sandbox.run import run_sandbox

    run_sandbox(Path(workdir), port, click.echo, childview_port, serve, connector_port)


@main.command("events-reference")
def events_reference() -> None:
    """Print, as Markdown, every Mosaic event's fields and allowed values (the source of docs/events.md)."""
    from adapters.mosaic.reference import events_reference as reference

    click.echo(reference(), nl=False)


@main.command("mosaic-simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9001, show_default=True, type=click.IntRange(1, 65535))
@click.option("--token", default="sandbox-token", show_default=True, help="The bearer token it accepts.")
def mosaic_simulator(host: str, port: int, token: str) -> None:
    """Run the simulated Mosaic (in memory) to try `connector serve` against, e.g. with the sandbox's config."""
    from waitress import serve as waitress_serve

    from adapters.mosaic.simulator import create_simulator_app

    click.echo(f"simulated Mosaic on http://{host}:{port}/api (token {token!r}); Ctrl-C to stop")
    try:
        waitress_serve(create_simulator_app(token), host=host, port=port, threads=4, _quiet=True)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


@main.command("childview-simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9002, show_default=True, type=click.IntRange(1, 65535))
@click.option("--key", default="sandbox-key", show_default=True, help="The X-Api-Key it accepts.")
def childview_simulator(host: str, port: int, key: str) -> None:
    """Run the simulated Childview (in memory) to try `connector serve` against a [tenants.childview] table."""
    from waitress import serve as waitress_serve

    from adapters.childview.simulator import create_simulator_app

    click.echo(f"simulated Childview on http://{host}:{port}/api (key {key!r}); Ctrl-C to stop")
    try:
        waitress_serve(create_simulator_app(key), host=host, port=port, threads=4, _quiet=True)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
