"""Security advisories: OSV records, their OSV API, pages, feed, import and export."""
