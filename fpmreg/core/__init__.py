"""Pure, shared logic of fpmreg: no database, no HTTP, no global state."""
