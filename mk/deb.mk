# make deb: the Debian packages (debian/), built from a copy of the tree.
