"""The `fpmreg` command-line client. It imports `fpmreg.core`, never the server."""
