"""The fpmreg registry server: fpm-compatible API, JSON API and web pages."""
