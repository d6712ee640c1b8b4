"""`python -m fpmreg.server` runs `fpmreg-server`."""

from fpmreg.server.cli import main

main()
