# bench/agent.mk - `make bench-agent`: two agents on loopback, see
# bench/bench_agent.c. Prints BENCH lines.
.PHONY: bench-agent
bench-agent: all $(BUILD)/bench/bench_agent
	@BALLAST_BIN=$(abspath $(BINDIR)) $(BUILD)/bench/bench_agent
BENCHES += bench-agent
