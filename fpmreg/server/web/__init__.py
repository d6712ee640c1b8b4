"""Pages and endpoints that show several domains at once, composed above them all.

Each domain sits in a layer (`docs/architecture.md`, "Layers") and never imports one
above it; an answer that needs several (a package page with its download chart, search
sorted by downloads, a namespace with its packages) is put together here.
"""
