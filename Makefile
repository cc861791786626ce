# libmembarrier: GNU make, outputs under $(BUILD) (build/ by default).
#
#   make              library (.so, .a), tool, tests
#   make run          build, then run the tool's main job (membarrier doctor)
#   make check        build, then run every test (TAP, summarised by prove)
#   make check-asan   the same under AddressSanitizer + UBSan
#   make bench        benchmarks (key=value lines, ratios)
#   make regtest      long tests (RCU torture; RCU_TORTURE_SECONDS=20)
#   make install      PREFIX=/usr/local DESTDIR=
#
# Variables: CC, CFLAGS (optimisation/debug), BUILD, PREFIX, DESTDIR.

VERSION   := 0.1.0
SOVERSION := 0

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man

BUILD ?= build
CFLAGS ?= -O2 -g

# V=1 shows the commands.
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

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla
ifeq ($(TSAN),1)
# ThreadSanitizer: the asymmetric fences become seq_cst fences it models.
SAN_FLAGS := -fsanitize=thread -DMEMBARRIER_TSAN -fno-omit-frame-pointer
endif
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
endif

CPPFLAGS_ALL := -D_GNU_SOURCE -Iinclude -DMEMBARRIER_VERSION='"$(VERSION)"'
CFLAGS_ALL := -std=gnu11 $(WARNINGS) -fvisibility=hidden -fPIC $(SAN_FLAGS) \
	$(CFLAGS)
LDFLAGS_ALL := $(SAN_FLAGS) $(LDFLAGS)
LDLIBS_ALL := -lpthread $(LDLIBS)
RPATH := -Wl,-rpath,'$$ORIGIN/../lib'
RPATH_LIB := -Wl,-rpath,'$$ORIGIN'

LIB_SONAME := libmembarrier.so.$(SOVERSION)
LIB_SO     := $(BUILD)/lib/libmembarrier.so
LIB_A      := $(BUILD)/lib/libmembarrier.a
TOOL       := $(BUILD)/bin/membarrier
PRELOAD    := $(BUILD)/lib/libmembarrier-preload.so

LIB_SRCS  := $(wildcard src/*.c)
LIB_OBJS  := $(LIB_SRCS:src/%.c=$(BUILD)/obj/lib/%.o)
TOOL_SRCS := $(wildcard tools/*.c) \
	$(filter-out bench/rcu_liburcu.c,$(wildcard bench/*.c))
TOOL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_SRCS))
HEADERS   := $(wildcard include/*.h include/membarrier/*.h \
	include/membarrier/arch/*.h src/*.h tools/*.h tests/*.h bench/*.h)

# liburcu (Debian's liburcu-dev), for the comparison rows of bench rcu.
# They run in a helper program: liburcu's constructors (a raw membarrier
# system call, a SIGUSR1 handler) must stay out of the tool.
URCU_LIBS := -lurcu-memb -lurcu-mb -lurcu-signal -lurcu-qsbr -lurcu-common
URCU_HDRS := $(foreach f,memb mb signal qsbr,-include urcu/urcu-$(f).h)
HAVE_LIBURCU := $(shell echo 'int main(void) { return 0; }' | $(CC) -x c \
	$(URCU_HDRS) -o /dev/null - $(URCU_LIBS) -lpthread >/dev/null 2>&1 && echo 1)
BENCH_URCU := $(BUILD)/libexec/membarrier/bench-rcu-liburcu
ifeq ($(HAVE_LIBURCU),1)
$(BUILD)/obj/bench/rcu.o: CPPFLAGS_ALL += -DHAVE_LIBURCU
BENCH_AUX := $(BENCH_URCU)
endif

# Tests: tests/t-*.c are TAP programs; tests/t-*.sh TAP scripts.
TEST_C     := $(wildcard tests/t-*.c)
TEST_BINS  := $(TEST_C:tests/%.c=$(BUILD)/tests/%)
TEST_SH    := $(wildcard tests/t-*.sh)
TEST_AUX   := $(BUILD)/tests/seqrun-lib $(BUILD)/tests/seqrun-raw \
	$(BUILD)/tests/sandbox $(BUILD)/tests/t-cxx
TEST_CXX   := $(BUILD)/tests/t-cxx

# doc/examples: one small program per service, built and run by make check.
EXAMPLES   := $(patsubst doc/examples/%.c,$(BUILD)/examples/%,$(wildcard doc/examples/*.c))
CXX        ?= g++

.PHONY: all lib tool tests run check check-asan check-clang bench regtest \
	install uninstall clean
.DELETE_ON_ERROR:

all: lib tool tests

lib: $(LIB_SO) $(LIB_A) $(PRELOAD)

tool: $(TOOL) $(BENCH_AUX)

tests: $(TEST_BINS) $(TEST_AUX) $(EXAMPLES)

$(BUILD)/obj/lib/%.o: src/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

$(LIB_SO).$(VERSION): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(LIB_SONAME) -Wl,-z,defs $(LDFLAGS_ALL) \
		-o $@ $^ $(LDLIBS_ALL)

$(LIB_SO): $(LIB_SO).$(VERSION)
	$(Q)ln -sf libmembarrier.so.$(VERSION) $(BUILD)/lib/$(LIB_SONAME)
	$(Q)ln -sf $(LIB_SONAME) $@

$(PRELOAD): src/preload/preload.c $(HEADERS) $(LIB_SO)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -shared $(LDFLAGS_ALL) $(RPATH_LIB) \
		-o $@ $< -L$(BUILD)/lib -lmembarrier -ldl

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(TOOL): $(TOOL_OBJS) $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) $(RPATH) -o $@ $(TOOL_OBJS) \
		-L$(BUILD)/lib -lmembarrier $(LDLIBS_ALL)

$(BENCH_URCU): $(BUILD)/obj/bench/rcu_liburcu.o $(BUILD)/obj/bench/rcu_run.o
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(URCU_LIBS) $(LDLIBS_ALL)

$(BUILD)/tests/t-%: tests/t-%.c $(HEADERS) $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(RPATH) -o $@ $< \
		-L$(BUILD)/lib -lmembarrier $(LDLIBS_ALL)

# The sequence runner, twice: through the library, and on the raw system
# call without the library (the differential oracle).
$(BUILD)/tests/seqrun-lib: tests/seqrun.c $(HEADERS) $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(RPATH) -o $@ $< \
		-L$(BUILD)/lib -lmembarrier $(LDLIBS_ALL)

$(BUILD)/tests/seqrun-raw: tests/seqrun.c $(HEADERS)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CPPFLAGS_ALL) -DSEQRUN_RAW $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< \
		$(LDLIBS_ALL)

$(BUILD)/examples/%: doc/examples/%.c $(HEADERS) $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(RPATH) -o $@ $< \
		-L$(BUILD)/lib -lmembarrier $(LDLIBS_ALL)

# The public headers as C++: every one of them, in one translation unit.
$(BUILD)/tests/t-cxx: tests/t-cxx.cpp $(HEADERS) $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,CXX,$@)
	$(Q)$(CXX) -std=c++17 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude \
		$(SAN_FLAGS) $(LDFLAGS_ALL) $(RPATH) -o $@ $< \
		-L$(BUILD)/lib -lmembarrier $(LDLIBS_ALL)

$(BUILD)/tests/sandbox: tests/sandbox.c
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $<

run: all
	$(TOOL) doctor

check: check-tests check-clang

# Warning-free under clang too: build everything, run nothing.
check-clang:
ifneq ($(CC),clang)
	@if command -v clang >/dev/null; then \
		$(MAKE) --no-print-directory CC=clang CXX=clang++ BUILD=$(BUILD)/clang all; \
	else echo "check-clang: clang not installed, skipped"; fi
endif

check-asan:
	$(MAKE) --no-print-directory SAN=1 BUILD=$(BUILD)/asan check-tests

# aarch64: cross-build with Debian's cross compiler, run the suite under
# qemu-user (binfmt_misc, so that tests can exec test programs). What qemu
# cannot emulate (rseq, fork of a threaded guest, seccomp) skips, saying so.
AARCH64_CC  ?= aarch64-linux-gnu-gcc
AARCH64_CXX ?= aarch64-linux-gnu-g++
AARCH64_SYSROOT ?= /usr/aarch64-linux-gnu
AARCH64_TESTS = t-api t-conformance t-differential t-load-registration t-cxx \
	t-jit t-biased-lock t-emul-hazards t-global-expedited t-rseq-abort \
	t-rseq-counter t-rseq-list t-rseq-swap t-rseq-fence-cpu t-rcu t-rcu-list \
	t-rcu-torture
AARCH64_SH = tests/t-examples.sh tests/t-status.sh tests/t-litmus.sh

.PHONY: check-aarch64
check-aarch64:
	$(MAKE) --no-print-directory CC=$(AARCH64_CC) CXX=$(AARCH64_CXX) \
		BUILD=$(BUILD)/aarch64 all
	tests/qemu-binfmt.sh
	BUILD=$(BUILD)/aarch64 QEMU_LD_PREFIX=$(AARCH64_SYSROOT) \
		MEMBARRIER_TEST_QEMU=1 LITMUS_ITERATIONS=20000 prove --exec '' \
		$(addprefix $(BUILD)/aarch64/tests/,$(AARCH64_TESTS)) $(AARCH64_SH)

# The RCU and service tests under ThreadSanitizer.
check-tsan:
	$(MAKE) --no-print-directory TSAN=1 BUILD=$(BUILD)/tsan tsan-tests

TSAN_TESTS = $(filter $(BUILD)/tests/t-rcu% $(BUILD)/tests/t-jit \
	$(BUILD)/tests/t-biased-lock $(BUILD)/tests/t-rseq-%,$(TEST_BINS))

.PHONY: check-tsan tsan-tests
tsan-tests: all
	BUILD=$(BUILD) TSAN=1 prove --exec '' $(TSAN_TESTS)

# Tests of the current BUILD, without the clang pass.
.PHONY: check-tests
check-tests: all
	BUILD=$(BUILD) SAN=$(SAN) CC=$(CC) prove --exec '' $(TEST_BINS) $(TEST_CXX) $(TEST_SH)

# Every benchmark; key=value lines, CSV and SVG plots under $(BUILD)/bench.
bench: all
	TOOL=$(TOOL) OUT=$(BUILD)/bench RCU_BENCH_SECONDS=$(RCU_BENCH_SECONDS) \
		sh bench/plot.sh

RCU_BENCH_SECONDS ?= 2

# Long tests: the RCU torture tests for minutes instead of seconds
# (RCU_TORTURE_SECONDS per configuration).
regtest: all
	BUILD=$(BUILD) SAN=$(SAN) RCU_TORTURE_SECONDS=$(RCU_TORTURE_SECONDS) \
		prove --exec '' $(BUILD)/tests/t-rcu-torture $(BUILD)/tests/t-rcu-list

RCU_TORTURE_SECONDS ?= 20

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

clean:
	rm -rf $(BUILD)
