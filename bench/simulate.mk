# make bench-simulate: ballastctl simulate's scale model against the exact
# model at 1M objects, then 10,000 nodes x 1B objects for 100 cycles
# (bench/bench_simulate.c).
.PHONY: bench-simulate
bench-simulate: $(BUILD)/bench/bench_simulate $(BINDIR)/ballastctl
	@BALLAST_BIN=$(abspath $(BINDIR)) $(BUILD)/bench/bench_simulate
BENCHES += bench-simulate
