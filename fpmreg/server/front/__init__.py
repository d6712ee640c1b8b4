"""The nginx front: files of fpm's answers for nginx to serve, and downloads from its log."""
