# make bench-crush: CRUSH mapping throughput (bench/bench_crush.c).
.PHONY: bench-crush
bench-crush: $(BUILD)/bench/bench_crush
	@$(BUILD)/bench/bench_crush
BENCHES += bench-crush
