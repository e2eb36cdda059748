# bench/load_agent.mk - `make bench-load-agent`: one agent under 500
# concurrent signed object GETs (wrk) while a second agent pulls an
# assignment from it; see bench/bench_load_agent.c. Prints BENCH lines and
# fails if any request errored. wrk comes from scripts/debian-packages-bench.txt.
.PHONY: bench-load-agent
bench-load-agent: all $(BUILD)/bench/bench_load_agent
	@scripts/deps.sh scripts/debian-packages-bench.txt
	@BALLAST_BIN=$(abspath $(BINDIR)) $(BUILD)/bench/bench_load_agent
BENCHES += bench-load-agent
