"""The ``marketlake`` command line: Typer, with every heavy import deferred to the command."""
