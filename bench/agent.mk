# bench/agent.mk - `make bench-agent`: two agents on loopback, see
# bench/bench_agent.c. The agents are the tests' (tests/helpers/
# agent_harness), so it links tests/helpers; the raw baseline is
# bench/rawget.c (curl multi in one process). Prints BENCH lines.
.PHONY: bench-agent
$(BUILD)/bench/bench_agent: $(BUILD)/bench/bench_agent.o \
    $(BUILD)/bench/rawget.o $(TEST_HELPER_OBJ) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench-agent: all $(BUILD)/bench/bench_agent
	@BALLAST_BIN=$(abspath $(BINDIR)) $(BUILD)/bench/bench_agent
BENCHES += bench-agent
