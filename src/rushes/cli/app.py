"""The ``rushes`` command: a thin Typer app, one module per command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rushes.cli import (
    contact_sheet,
    continuity,
    decide,
    export,
    fix,
    grain,
    guard,
    import_cut,
    ingest,
    init,
    learn,
    lock,
    log,
    ls,
    model,
    plate,
    provenance,
    pull,
    render,
    review,
    show,
    teach,
)
from rushes.cli.common import err_console, state
from rushes.errors import RushesError

app = typer.Typer(
    name="rushes",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Learn a production from its own dailies and help fix its footage.",
)


@app.callback()
def _root(
    project: Annotated[
        Path | None,
        typer.Option(
            "-p", "--project", help="Project folder (default: found above the current folder)."
        ),
    ] = None,
) -> None:
    state.project = project


app.command()(init.init)
app.command()(ingest.ingest)
app.command()(ls.ls)
app.command()(show.show)
app.command("contact-sheet")(contact_sheet.contact_sheet)
app.add_typer(fix.app, name="fix")
app.command()(continuity.continuity)
app.command()(render.render)
app.command()(export.export)
app.command()(grain.grain)
app.command()(plate.plate)
app.command()(learn.learn)
app.add_typer(model.app, name="model")
app.command()(teach.teach)
app.command()(decide.proposals)
app.command()(decide.approve)
app.command()(decide.reject)
app.command()(lock.lock)
app.command()(lock.unlock)
app.command()(lock.locks)
app.command()(log.log)
app.add_typer(guard.app, name="guard")
app.command()(provenance.provenance)
app.command("import-cut")(import_cut.import_cut)
app.command()(import_cut.cuts)
app.command()(pull.pull)
app.command()(review.review)


def main() -> None:
    """Entry point: user mistakes become one line on stderr and exit code 2, never a trace."""
    try:
        app()
    except RushesError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; run the same command again to finish", highlight=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
