# make deb: the Debian packages (debian/) built by dpkg-buildpackage from
# a copy of the tree under $(BUILD)/deb, so that neither its outputs (the
# parent directory of the copy) nor debhelper's files land in the tree;
# then lintian, which fails on any error. No network is needed; the build
# dependencies (debian/control) must be installed. The packages skip the
# test suite: make check runs it; what is checked here is that the
# packaged library has its USDT probes.

DEB_DIR := $(BUILD)/deb
DEB_SRC := $(DEB_DIR)/libmembarrier-$(VERSION)
DEB_BUILD_OPTIONS ?= nocheck parallel=$(shell nproc 2>/dev/null || echo 1)

.PHONY: deb
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
			tar --null -T - -cf - ; \
	else \
		tar --exclude=./build --exclude='./$(BUILD)' --exclude=./.git -cf - . ; \
	fi | tar -C $(DEB_SRC) -xf -
	cd $(DEB_SRC) && DEB_BUILD_OPTIONS='$(DEB_BUILD_OPTIONS)' \
		dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(DEB_DIR)/*.changes
	# The packaged library carries the USDT probes (systemtap-sdt-dev).
	rm -rf $(DEB_DIR)/x && dpkg-deb -x $(DEB_DIR)/libmembarrier0_*.deb $(DEB_DIR)/x
	readelf -n $(DEB_DIR)/x/usr/lib/*/libmembarrier.so.* | \
		grep -q 'Provider: libmembarrier' || \
		{ echo "deb: the packaged library has no USDT probes"; exit 1; }
	@ls $(DEB_DIR)/*.deb
