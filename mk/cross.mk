# aarch64: cross-build with Debian's cross compiler, run the suite under
# qemu-user (binfmt_misc, so that tests can exec test programs). What qemu
# cannot emulate (rseq, fork of a threaded guest, seccomp) skips, saying so.
AARCH64_CC  ?= aarch64-linux-gnu-gcc
AARCH64_CXX ?= aarch64-linux-gnu-g++
AARCH64_SYSROOT ?= /usr/aarch64-linux-gnu
AARCH64_TESTS = t-api t-conformance t-differential t-load-registration t-cxx \
	t-jit t-biased-lock t-emul-hazards t-global-expedited t-rseq-abort \
	t-rseq-counter t-rseq-list t-rseq-swap t-rseq-fence-cpu t-rseq-fallback \
	t-rseq-cid t-rcu t-rcu-list t-rcu-torture
AARCH64_SH = tests/tool/t-examples.sh tests/tool/t-status.sh \
	tests/tool/t-litmus.sh

.PHONY: check-aarch64
check-aarch64:
	$(MAKE) --no-print-directory CC=$(AARCH64_CC) CXX=$(AARCH64_CXX) \
		BUILD=$(BUILD)/aarch64 all
	sh tests/lib/qemu-binfmt.sh aarch64 env BUILD=$(BUILD)/aarch64 \
		QEMU_LD_PREFIX=$(AARCH64_SYSROOT) \
		MEMBARRIER_TEST_QEMU=1 LITMUS_ITERATIONS=20000 prove --exec '' \
		$(addprefix $(BUILD)/aarch64/tests/,$(AARCH64_TESTS)) $(AARCH64_SH)

# riscv64: the same with Debian's riscv64 cross compiler
# (gcc-riscv64-linux-gnu, g++-riscv64-linux-gnu, libc6-dev-riscv64-cross)
# and qemu-riscv64. qemu-user implements no rseq system call, so the rseq
# operations run their fallback there; their riscv64 sections are only
# assembled.
RISCV64_CC  ?= riscv64-linux-gnu-gcc
RISCV64_CXX ?= riscv64-linux-gnu-g++
RISCV64_SYSROOT ?= /usr/riscv64-linux-gnu
RISCV64_TESTS = $(AARCH64_TESTS)
RISCV64_SH = $(AARCH64_SH)

.PHONY: check-riscv64
check-riscv64:
	$(MAKE) --no-print-directory CC=$(RISCV64_CC) CXX=$(RISCV64_CXX) \
		BUILD=$(BUILD)/riscv64 all
	sh tests/lib/qemu-binfmt.sh riscv64 env BUILD=$(BUILD)/riscv64 \
		QEMU_LD_PREFIX=$(RISCV64_SYSROOT) \
		MEMBARRIER_TEST_QEMU=1 LITMUS_ITERATIONS=20000 prove --exec '' \
		$(addprefix $(BUILD)/riscv64/tests/,$(RISCV64_TESTS)) $(RISCV64_SH)
