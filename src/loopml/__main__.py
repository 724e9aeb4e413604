"""`python -m loopml` runs the CLI."""

from loopml.interfaces.cli.main import main

main()
