"""The `loopml` command line (typer + rich): parse, call the service, render."""
