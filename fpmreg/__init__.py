"""fpmreg: a package registry for the Fortran Package Manager, and its client."""

__version__ = "0.1.0"
