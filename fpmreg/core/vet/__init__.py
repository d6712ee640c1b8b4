"""Vetting: criteria, audits, policies, their evaluation and reviewer trust (docs/vetting.md).

Pure: no database, no HTTP. The server and the `fpmreg vet` command feed these functions
objects whose signatures they already verified.
"""
