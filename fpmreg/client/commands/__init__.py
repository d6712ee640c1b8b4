"""The `fpmreg` commands, one module per action; `fpmreg.client.cli` registers them."""
