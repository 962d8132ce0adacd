"""``python -m gridpilot.cli``: the same as the ``gridpilot`` command."""

from gridpilot.cli.main import main

main()
