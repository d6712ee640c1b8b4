"""Packaging communities: members and roles, and the criteria, auditor guidance and
policies they publish, versioned and signed into the log (docs/communities.md)."""
