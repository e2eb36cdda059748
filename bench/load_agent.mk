# bench/load_agent.mk - `make bench-load-agent`: one agent under 500
# concurrent signed object GETs (wrk) while a second agent pulls an
# assignment from it; see bench/bench_load_agent.c. Prints BENCH lines and
# fails if any request errored. wrk comes from scripts/debian-packages-bench.txt.
# The agents and the wrk runs are tests/helpers' (agent_harness, th_wrk),
# so it links tests/helpers.
.PHONY: bench-load-agent
$(BUILD)/bench/bench_load_agent: $(BUILD)/bench/bench_load_agent.o $(TEST_HELPER_OBJ) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench-load-agent: all $(BUILD)/bench/bench_load_agent
	@scripts/deps.sh scripts/debian-packages-bench.txt
	@BALLAST_BIN=$(abspath $(BINDIR)) $(BUILD)/bench/bench_load_agent
BENCHES += bench-load-agent
