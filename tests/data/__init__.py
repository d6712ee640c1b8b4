"""Test packages built by code: a corpus of bad packages and a few realistic good ones.

Nothing here is a checked-in binary: `corpus.py` and `realistic.py` build every tarball
in memory, and `python -m tests.data.corpus OUTDIR` writes the bad ones out to inspect.
"""
