# make figures: make bench, then the README's Figures table from its
# output and the machine it ran on (bench/figures.sh). By hand, on a quiet
# machine; make check never runs it.

.PHONY: figures
figures: bench $(BUILD)/tests/sandbox
	OUT=$(BUILD)/bench TOOL=$(TOOL) SANDBOX=$(BUILD)/tests/sandbox \
		RCU_BENCH_SECONDS=$(RCU_BENCH_SECONDS) README=README.md \
		sh bench/figures.sh
