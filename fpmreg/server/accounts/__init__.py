"""Users, web sessions, API tokens, namespaces and their members."""
