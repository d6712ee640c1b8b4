"""Packages, versions, blobs, upload, the fpm-compatible API and search."""
