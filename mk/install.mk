# make install / make uninstall: PREFIX, DESTDIR and the directories below.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man

.PHONY: install uninstall

install: lib tool
	install -d $(DESTDIR)$(INCLUDEDIR)/membarrier/arch \
		$(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(BINDIR)
	install -m 644 include/membarrier.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/membarrier/*.h $(DESTDIR)$(INCLUDEDIR)/membarrier/
	install -m 644 include/membarrier/arch/*.h \
		$(DESTDIR)$(INCLUDEDIR)/membarrier/arch/
	install -m 755 $(LIB_SO).$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libmembarrier.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libmembarrier.so
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(PRELOAD) $(DESTDIR)$(LIBDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		libmembarrier.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libmembarrier.pc
	install -m 755 $(TOOL) $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 644 doc/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 doc/man/*.3 $(DESTDIR)$(MANDIR)/man3/

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/membarrier
	rm -f $(DESTDIR)$(INCLUDEDIR)/membarrier.h \
		$(DESTDIR)$(LIBDIR)/libmembarrier.* \
		$(DESTDIR)$(LIBDIR)/pkgconfig/libmembarrier.pc \
		$(DESTDIR)$(BINDIR)/membarrier \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard doc/man/*.1))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(wildcard doc/man/*.3)))

