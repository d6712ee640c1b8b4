"""Build verification: the registry builds each published version with the real fpm and
gfortran in a sandbox and shows the result (docs/builds.md, "Build verification")."""
