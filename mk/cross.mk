# Cross builds, run under qemu-user (binfmt_misc, so that tests can exec
# test programs; tests/lib/qemu-binfmt.sh leaves the system as found).
# What qemu cannot emulate (rseq, fork of a threaded guest, seccomp,
# ptrace) skips, saying so. Debian's cross compilers: gcc-aarch64-linux-gnu
# and g++- (libc6-dev-arm64-cross), gcc-riscv64-linux-gnu and g++-
# (libc6-dev-riscv64-cross). On riscv64 qemu-user implements no rseq
# system call, so the rseq operations run their fallback there; their
# riscv64 sections are only assembled.
#
# Every TAP program runs (CROSS_TESTS is all of them; what qemu cannot
# do skips with its reason), and three of the scripts. The other scripts
# run natively only: they drive strace, seccomp sandboxes, the preload
# shim under a host tool, the install tree and the sources, or, as
# t-shared-litmus.sh, take minutes under qemu, whose guest memory
# accesses keep the host's (x86) ordering, so that a litmus shows no more
# than natively.
CROSS_TESTS = $(filter-out t-cxx,$(notdir $(TEST_BINS))) t-cxx
CROSS_SH = tests/tool/t-examples.sh tests/tool/t-status.sh \
	tests/tool/t-litmus.sh

# Under qemu-riscv64 the hazard litmus (t-emul-hazards) did not finish in
# minutes (it spins on a walk that qemu makes very slow): left out there.
CROSS_TESTS_aarch64 = $(CROSS_TESTS)
CROSS_TESTS_riscv64 = $(filter-out t-emul-hazards,$(CROSS_TESTS))

# cross_check ARCH: build with ARCH-linux-gnu-gcc into $(BUILD)/ARCH, then
# the suite under qemu-ARCH, with a private /dev/shm as make check (the
# GLOBAL_EXPEDITED tests register in the per-user registry).
define cross_check
	$(MAKE) --no-print-directory CC=$(1)-linux-gnu-gcc \
		CXX=$(1)-linux-gnu-g++ BUILD=$(BUILD)/$(1) all
	sh tests/lib/private-shm.sh sh tests/lib/qemu-binfmt.sh $(1) \
		env BUILD=$(BUILD)/$(1) \
		QEMU_LD_PREFIX=/usr/$(1)-linux-gnu \
		MEMBARRIER_TEST_QEMU=1 LITMUS_ITERATIONS=20000 prove --exec '' \
		$(addprefix $(BUILD)/$(1)/tests/,$(CROSS_TESTS_$(1))) $(CROSS_SH)
endef

.PHONY: check-aarch64 check-riscv64
check-aarch64:
	$(call cross_check,aarch64)

check-riscv64:
	$(call cross_check,riscv64)
