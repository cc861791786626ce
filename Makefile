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
#
# Variables a packager sets: CC, CXX, CPPFLAGS, CFLAGS, CXXFLAGS, LDFLAGS,
# PREFIX, LIBDIR (multiarch welcome), DESTDIR; WERROR=1 turns warnings
# into errors (CI sets it); WITH_LIBURCU=auto|yes|no builds the liburcu
# comparison of bench rcu; V=1 shows the commands. The tree's layout is in
# the README (Layout).

VERSION   := $(shell cat VERSION)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))

BUILD  ?= build
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
ifeq ($(filter x86_64 aarch64,$(ARCH)),)
$(error libmembarrier supports x86_64 and aarch64; $(CC) targets '$(ARCH)')
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
# nothing installed carries one (mk/install.mk).
RPATH_BUILD := -Wl,-rpath,'$$ORIGIN/../lib'

.PHONY: all lib tool tests run clean
.DELETE_ON_ERROR:

all: lib tool tests

include mk/lib.mk mk/tool.mk mk/tests.mk mk/cross.mk mk/install.mk
include mk/mutants.mk

run: all
	$(TOOL) doctor

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
