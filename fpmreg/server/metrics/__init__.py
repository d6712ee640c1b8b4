"""The metrics domain: download counting, daily series, stats API, charts, operator metrics."""
