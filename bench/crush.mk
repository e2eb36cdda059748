# make bench-crush: CRUSH mapping throughput against Ceph's libcrush through
# crushtool, in the same run on the same compiled map (bench/bench_crush.c).
# BENCH_CRUSH_INPUTS sets the inputs per timed run (default 200000).
.PHONY: bench-crush
bench-crush: $(BUILD)/bench/bench_crush
	@$(BUILD)/bench/bench_crush
BENCHES += bench-crush
