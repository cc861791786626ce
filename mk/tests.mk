# Tests: tests/<group>/t-*.c are TAP programs, tests/<group>/t-*.sh TAP
# scripts; groups are contract, backends, services, tool; tests/lib/ is
# what they share. doc/examples/ are built and run by make check too.

TEST_C    := $(sort $(wildcard tests/*/t-*.c))
TEST_BINS := $(foreach t,$(TEST_C),$(BUILD)/tests/$(basename $(notdir $(t))))
TEST_SH   := $(sort $(wildcard tests/*/t-*.sh))
TEST_CXX  := $(BUILD)/tests/t-cxx
TEST_AUX  := $(BUILD)/tests/seqrun-lib $(BUILD)/tests/seqrun-raw \
	$(BUILD)/tests/sandbox $(TEST_CXX)
EXAMPLES  := $(patsubst doc/examples/%.c,$(BUILD)/examples/%,$(wildcard doc/examples/*.c))

TEST_CPPFLAGS = $(MB_CPPFLAGS) -Itests -Itools
# Compile and link a test program against the library of the build tree;
# its header dependencies go under $(BUILD)/obj, not beside the program.
dep_test = -MF $(BUILD)/obj/$(@:$(BUILD)/%=%).d
link_test = mkdir -p $(BUILD)/obj/$(dir $(@:$(BUILD)/%=%)) && \
	$(CC) $(TEST_CPPFLAGS) $(MB_CFLAGS) $(dep_test) $(MB_LDFLAGS) \
	$(RPATH_BUILD) -o $@ $< $(filter %.o,$^) -L$(BUILD)/lib -lmembarrier \
	$(MB_LDLIBS)

# Tests that use the tool's verifications (tools/verify.c: interruption
# and rseq-abort checks) link its objects.
TEST_VERIFY := t-rseq-abort t-interrupts t-rcu-order t-jit t-sync-core
$(foreach t,$(TEST_VERIFY),$(BUILD)/tests/$(t)): \
	$(BUILD)/obj/tools/verify.o $(BUILD)/obj/tools/util.o
# Tests that use the tool's helpers (tools/util.c) link its object.
$(BUILD)/tests/t-rcu-torture: $(BUILD)/obj/tools/util.o

.PHONY: tests
tests: $(TEST_BINS) $(TEST_AUX) $(EXAMPLES)

define test_rule
$(BUILD)/tests/$(basename $(notdir $(1))): $(1) $(LIB_SO)
	@mkdir -p $$(@D)
	$$(call msg,LD,$$@)
	$$(Q)$$(link_test)
endef
$(foreach t,$(TEST_C),$(eval $(call test_rule,$(t))))

# The sequence runner, twice: through the library, and on the raw system
# call without the library (the differential oracle).
$(BUILD)/tests/seqrun-lib: tests/contract/seqrun.c $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(link_test)

$(BUILD)/tests/seqrun-raw: tests/contract/seqrun.c
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(BUILD)/obj/tests
	$(Q)$(CC) $(TEST_CPPFLAGS) -DSEQRUN_RAW $(MB_CFLAGS) $(dep_test) \
		$(MB_LDFLAGS) -o $@ $< $(MB_LDLIBS)

$(BUILD)/examples/%: doc/examples/%.c $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(link_test)

# The public headers as C++: every one of them, in one translation unit.
$(TEST_CXX): tests/contract/t-cxx.cpp $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(BUILD)/obj/tests
	$(Q)$(CXX) -D_GNU_SOURCE -Iinclude $(CPPFLAGS) $(MB_CXXFLAGS) \
		$(dep_test) $(MB_LDFLAGS) $(RPATH_BUILD) -o $@ $< \
		-L$(BUILD)/lib -lmembarrier $(MB_LDLIBS)

$(BUILD)/tests/sandbox: tests/lib/sandbox.c
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(BUILD)/obj/tests
	$(Q)$(CC) $(TEST_CPPFLAGS) $(MB_CFLAGS) $(dep_test) $(MB_LDFLAGS) \
		-o $@ $<

.PHONY: check check-tests check-clang check-asan check-tsan tsan-tests regtest \
	check-debug

check: check-tests check-clang

# Tests of the current BUILD, without the clang pass; with a private
# /dev/shm (tests/lib/private-shm.sh), so that no test touches the
# machine's per-user GLOBAL_EXPEDITED registry or leaves anything there.
# CHECK_SH: the scripts run (all by default). t-emulated.sh and
# t-sandbox.sh re-run the C suite on the emulation and inside filters.
CHECK_SH ?= $(TEST_SH)
SUITE_RERUNS := tests/backends/t-emulated.sh tests/backends/t-sandbox.sh
# Under ASan a preloaded shim comes before the ASan runtime in the link
# order: allowed, since both are ours and built with it.
SAN_ENV := $(if $(filter 1,$(SAN)),ASAN_OPTIONS=verify_asan_link_order=0)
check-tests: all
	sh tests/lib/private-shm.sh env BUILD=$(BUILD) SAN=$(SAN) CC=$(CC) \
		$(SAN_ENV) prove --exec '' $(TEST_BINS) $(TEST_CXX) $(CHECK_SH)

# Warning-free under clang too: build everything, run nothing.
check-clang:
ifneq ($(CC),clang)
	@if command -v clang >/dev/null; then \
		$(MAKE) --no-print-directory CC=clang CXX=clang++ \
			WERROR=$(WERROR) BUILD=$(BUILD)/clang all; \
	else echo "check-clang: clang not installed, skipped"; fi
endif

# The checked mode: MEMBARRIER_DEBUG=1 builds a library that aborts on a
# documented misuse, naming it (services/debug.c); check-debug runs the
# suite on it (not its re-runs on the emulation and in filters: the
# checks sit in the services, above the backends).
ifeq ($(MEMBARRIER_DEBUG),1)
MB_CPPFLAGS += -DMEMBARRIER_DEBUG
endif
check-debug:
	$(MAKE) --no-print-directory MEMBARRIER_DEBUG=1 BUILD=$(BUILD)/debug \
		CHECK_SH="$(filter-out $(SUITE_RERUNS),$(TEST_SH))" check-tests

# The suite under ASan and UBSan, the emulation's re-run included (not
# the re-runs inside filters, which select the same backends).
check-asan:
	$(MAKE) --no-print-directory SAN=1 BUILD=$(BUILD)/asan \
		CHECK_SH="$(filter-out tests/backends/t-sandbox.sh,$(TEST_SH))" \
		check-tests

# The RCU and service tests under ThreadSanitizer.
check-tsan:
	$(MAKE) --no-print-directory TSAN=1 BUILD=$(BUILD)/tsan tsan-tests

# Not t-rseq-cid (its control's non-atomic adds race on purpose) nor
# t-rseq-fallback (its swap hands the inactive copy over through the
# PRIVATE_EXPEDITED-based fence, which ThreadSanitizer cannot see).
TSAN_TESTS = $(filter-out $(BUILD)/tests/t-rseq-cid $(BUILD)/tests/t-rseq-fallback, \
	$(filter $(BUILD)/tests/t-rcu% $(BUILD)/tests/t-jit \
	$(BUILD)/tests/t-biased-lock $(BUILD)/tests/t-rseq-%,$(TEST_BINS)))

tsan-tests: all
	sh tests/lib/private-shm.sh env BUILD=$(BUILD) TSAN=1 prove --exec '' \
		$(TSAN_TESTS)

# Long tests: the RCU torture tests for minutes instead of seconds
# (RCU_TORTURE_SECONDS per configuration).
RCU_TORTURE_SECONDS ?= 20
regtest: all
	sh tests/lib/private-shm.sh env BUILD=$(BUILD) SAN=$(SAN) RCU_TORTURE_SECONDS=$(RCU_TORTURE_SECONDS) \
		prove --exec '' $(BUILD)/tests/t-rcu-torture $(BUILD)/tests/t-rcu-list

# Performance assertions, out of make check (timings are noise on a loaded
# machine): each fails only on a regression beyond PERF_FACTOR (2x) of its
# target; make bench runs them first. CI reports them without failing.
PERF_SH := $(sort $(wildcard tests/perf/*.sh))
PERF_FACTOR ?= 2
.PHONY: check-perf
check-perf: all
	sh tests/lib/private-shm.sh env BUILD=$(BUILD) SAN=$(SAN) \
		PERF_FACTOR=$(PERF_FACTOR) prove --exec sh $(PERF_SH)
bench: check-perf

# The parsers' unit tests (tests/sys/) link the system helpers' objects.
TEST_SYS_OBJS := $(filter $(BUILD)/obj/src/sys/%,$(LIB_OBJS))
$(filter $(BUILD)/tests/t-parsers,$(TEST_BINS)): $(TEST_SYS_OBJS)
