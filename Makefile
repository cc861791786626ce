# libmembarrier: GNU make, outputs under $(BUILD) (build/ by default).
#
#   make              library (.so, .a), preload shim, tool, tests
#   make run          build, then run the tool's main job (membarrier doctor)
#   make check        build, then run every test (TAP, summarised by prove)
#   make check-asan   the same under AddressSanitizer + UBSan
#   make check-tsan   the RCU and service tests under ThreadSanitizer
#   make check-aarch64  cross-build, then the suite under qemu-user
#   make bench        benchmarks (key=value lines, ratios, plots)
#   make regtest      long tests (RCU torture; RCU_TORTURE_SECONDS=20)
#   make install      PREFIX=/usr/local DESTDIR= LIBDIR= ...; make uninstall
#   make check-abi    the exported ABI against the baseline in abi/
#   make abi-baseline regenerate it, the version script and debian's symbols
#   make deb          Debian packages under $(BUILD)/deb, checked by lintian
#   make figures      make bench, then the README's Figures table from it
#
# Variables a packager sets: CC, CXX, CPPFLAGS, CFLAGS, CXXFLAGS, LDFLAGS,
# PREFIX, EXEC_PREFIX, LIBDIR (multiarch welcome), LIBEXECDIR, DESTDIR and
# the directories below; WERROR=1 turns warnings into errors (CI sets it);
# WITH_LIBURCU=auto|yes|no builds the liburcu comparison of bench rcu;
# V=1 shows the commands. The tree's layout is in the README (Layout).

VERSION   := $(shell cat VERSION)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))

BUILD  ?= build

# Installation directories. The tool finds the preload shim and its
# helper programs in PKGLIBDIR and PKGLIBEXECDIR, fixed at build time (a
# change of them rebuilds what embeds them: $(BUILD)/dirs).
PREFIX        ?= /usr/local
EXEC_PREFIX   ?= $(PREFIX)
BINDIR        ?= $(EXEC_PREFIX)/bin
LIBDIR        ?= $(EXEC_PREFIX)/lib
LIBEXECDIR    ?= $(EXEC_PREFIX)/libexec
INCLUDEDIR    ?= $(PREFIX)/include
MANDIR        ?= $(PREFIX)/share/man
PKGLIBDIR     ?= $(LIBDIR)/libmembarrier
PKGLIBEXECDIR ?= $(LIBEXECDIR)/membarrier
DIRS_STAMP    := $(BUILD)/dirs
CFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
CXX    ?= g++

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2)
endif

ARCH := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))
ifeq ($(filter x86_64 aarch64 riscv64,$(ARCH)),)
$(error libmembarrier supports x86_64, aarch64 and riscv64; $(CC) targets '$(ARCH)')
endif

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
ifeq ($(TSAN),1)
# ThreadSanitizer: the asymmetric fences become seq_cst RMWs it models.
SAN_FLAGS := -fsanitize=thread -DMEMBARRIER_TSAN -fno-omit-frame-pointer
endif
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
endif

# The project's flags first, the packager's last (they win).
MB_CPPFLAGS := -D_GNU_SOURCE -Iinclude -Isrc \
	-DMEMBARRIER_VERSION='"$(VERSION)"' $(CPPFLAGS)
MB_CFLAGS   := -std=gnu11 $(WARNINGS) -fvisibility=hidden -fPIC -MMD -MP \
	$(SAN_FLAGS) $(CFLAGS)
MB_CXXFLAGS := -std=c++17 -Wall -Wextra $(filter -Werror,$(WARNINGS)) -MMD -MP \
	$(SAN_FLAGS) $(CXXFLAGS)
MB_LDFLAGS  := $(SAN_FLAGS) $(LDFLAGS)
MB_LDLIBS   := -lpthread $(LDLIBS)
# Programs run from the build tree find the library through RUNPATH;
# nothing installed carries one: make install installs programs linked
# again without it (mk/install.mk), so that the build tree needs no
# LD_LIBRARY_PATH (tests run its programs directly, and from each other).
RPATH_BUILD := -Wl,-rpath,'$$ORIGIN/../lib'

.PHONY: all lib tool tests run clean
.DELETE_ON_ERROR:

all: lib tool tests

include mk/lib.mk mk/tool.mk mk/tests.mk mk/cross.mk mk/install.mk \
	mk/abi.mk mk/deb.mk mk/figures.mk
include mk/mutants.mk

run: all
	$(TOOL) doctor

clean:
	rm -rf $(BUILD)

# The directories and version that built files embed; rewritten only when
# they change, so that a make install with another PREFIX rebuilds those
# files and nothing else.
.PHONY: FORCE
$(DIRS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION) $(PREFIX) $(EXEC_PREFIX) $(LIBDIR) $(INCLUDEDIR)' \
		'$(PKGLIBDIR) $(PKGLIBEXECDIR)' > $@.new
	@if cmp -s $@ $@.new; then rm -f $@.new; else mv -f $@.new $@; fi

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
