# Generated documentation and metadata (man pages with the version, their
# links, libmembarrier.pc), the programs linked again for installation,
# and make install / make uninstall (DESTDIR and the directories of the
# Makefile). Installed files carry no RPATH or RUNPATH: the library goes
# where the dynamic linker looks (LIBDIR), and the tool and the shim are
# the variants under $(BUILD)/install, linked without one.

MAN_SRCS  := $(wildcard doc/man/*.[13])
MAN_PAGES := $(MAN_SRCS:doc/man/%=$(BUILD)/man/%)
MAN_LINKS := $(BUILD)/man/links
PC_FILE   := $(BUILD)/lib/pkgconfig/libmembarrier.pc
TOOL_INSTALL := $(BUILD)/install/membarrier
HEADERS   := $(wildcard include/*.h include/membarrier/*.h include/membarrier/arch/*.h)

.PHONY: man install uninstall
all: man $(PC_FILE) $(TOOL_INSTALL)
man: $(MAN_PAGES) $(MAN_LINKS)

# The version once, in VERSION: the .TH line's "libmembarrier X.Y.Z";
# @PKGLIBDIR@, where the shim is installed (not hyphenated, hyphens as
# \-, a break point \: after each slash, for long prefixes).
man_path = \\%$(subst /,/\\:,$(subst -,\\-,$(PKGLIBDIR)))
$(BUILD)/man/%: doc/man/% VERSION $(DIRS_STAMP)
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)sed -e '/^\.TH /s/"libmembarrier [^"]*"/"libmembarrier $(VERSION)"/' \
		-e 's|@PKGLIBDIR@|$(man_path)|g' $< > $@

# "NAME PAGE" per documented function (doc/man/links.sh).
$(MAN_LINKS): $(filter %.3,$(MAN_SRCS)) doc/man/links.sh
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)sh doc/man/links.sh $(filter %.3,$(MAN_SRCS)) > $@

# libdir and includedir relative to exec_prefix and prefix where they are
# under them, as pkg-config's users expect (PKG_CONFIG_SYSROOT_DIR, a
# --define-variable=prefix=...).
pc_rel = $(if $(filter $(2),$(1)),$${$(3)},$(patsubst $(2)/%,$${$(3)}/%,$(1)))
$(PC_FILE): libmembarrier.pc.in $(DIRS_STAMP)
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e 's|@EXEC_PREFIX@|$(call pc_rel,$(EXEC_PREFIX),$(PREFIX),prefix)|' \
		-e 's|@LIBDIR@|$(call pc_rel,$(LIBDIR),$(EXEC_PREFIX),exec_prefix)|' \
		-e 's|@INCLUDEDIR@|$(call pc_rel,$(INCLUDEDIR),$(PREFIX),prefix)|' \
		-e 's|@VERSION@|$(VERSION)|' $< > $@

$(TOOL_INSTALL): $(TOOL_OBJS) $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(MB_LDFLAGS) -o $@ $(TOOL_OBJS) -L$(BUILD)/lib -lmembarrier \
		$(MB_LDLIBS)

INSTALL      ?= install
INSTALL_DATA := $(INSTALL) -m 644
INSTALL_PROG := $(INSTALL) -m 755
D := $(DESTDIR)

install: lib tool man $(PC_FILE) $(TOOL_INSTALL)
	$(INSTALL) -d $(D)$(INCLUDEDIR)/membarrier/arch $(D)$(LIBDIR)/pkgconfig \
		$(D)$(PKGLIBDIR) $(D)$(BINDIR) $(D)$(MANDIR)/man1 $(D)$(MANDIR)/man3
	$(INSTALL_DATA) include/membarrier.h $(D)$(INCLUDEDIR)/
	$(INSTALL_DATA) include/membarrier/*.h $(D)$(INCLUDEDIR)/membarrier/
	$(INSTALL_DATA) include/membarrier/arch/*.h $(D)$(INCLUDEDIR)/membarrier/arch/
	$(INSTALL_DATA) $(LIB_SO).$(VERSION) $(D)$(LIBDIR)/
	ln -sf libmembarrier.so.$(VERSION) $(D)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(D)$(LIBDIR)/libmembarrier.so
	$(INSTALL_DATA) $(LIB_A) $(D)$(LIBDIR)/
	$(INSTALL_DATA) $(PC_FILE) $(D)$(LIBDIR)/pkgconfig/
	$(INSTALL_DATA) $(PRELOAD_INSTALL) $(D)$(PKGLIBDIR)/preload.so
	$(INSTALL_PROG) $(TOOL_INSTALL) $(D)$(BINDIR)/membarrier
ifneq ($(BENCH_AUX),)
	$(INSTALL) -d $(D)$(PKGLIBEXECDIR)
	$(INSTALL_PROG) $(BENCH_AUX) $(D)$(PKGLIBEXECDIR)/
endif
	$(INSTALL_DATA) $(filter %.1,$(MAN_PAGES)) $(D)$(MANDIR)/man1/
	$(INSTALL_DATA) $(filter %.3,$(MAN_PAGES)) $(D)$(MANDIR)/man3/
	while read -r name page; do \
		echo ".so man3/$$page" > $(D)$(MANDIR)/man3/$$name && \
		chmod 644 $(D)$(MANDIR)/man3/$$name || exit 1; \
	done < $(MAN_LINKS)

# What install put, the helper programs whether built or not; the link
# list is derived again from the sources (no build needed).
uninstall:
	rm -f $(addprefix $(D)$(INCLUDEDIR)/,$(HEADERS:include/%=%)) \
		$(D)$(LIBDIR)/libmembarrier.so.$(VERSION) \
		$(D)$(LIBDIR)/$(LIB_SONAME) $(D)$(LIBDIR)/libmembarrier.so \
		$(D)$(LIBDIR)/libmembarrier.a \
		$(D)$(LIBDIR)/pkgconfig/libmembarrier.pc \
		$(D)$(PKGLIBDIR)/preload.so $(D)$(BINDIR)/membarrier \
		$(D)$(PKGLIBEXECDIR)/$(notdir $(BENCH_URCU)) \
		$(addprefix $(D)$(MANDIR)/man1/,$(notdir $(filter %.1,$(MAN_SRCS)))) \
		$(addprefix $(D)$(MANDIR)/man3/,$(notdir $(filter %.3,$(MAN_SRCS)))) \
		$(addprefix $(D)$(MANDIR)/man3/,$(shell sh doc/man/links.sh \
			$(filter %.3,$(MAN_SRCS)) | cut -d' ' -f1))
	rmdir $(D)$(INCLUDEDIR)/membarrier/arch $(D)$(INCLUDEDIR)/membarrier \
		$(D)$(PKGLIBDIR) $(D)$(PKGLIBEXECDIR) 2>/dev/null || true
