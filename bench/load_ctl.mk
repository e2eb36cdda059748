# bench/load_ctl.mk - `make bench-load-ctl`: ballastd's read routes under
# 1,000 concurrent connections (wrk) while an evacuation job runs; see
# bench/bench_load_ctl.c. It runs the integration tests' cluster (a private
# PostgreSQL, agents, ballastd), so it links tests/helpers. Prints BENCH
# lines and fails if any request errored or the job did not complete.
.PHONY: bench-load-ctl
$(BUILD)/bench/bench_load_ctl: $(BUILD)/bench/bench_load_ctl.o $(TEST_HELPER_OBJ) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench-load-ctl: all $(BUILD)/bench/bench_load_ctl
	@scripts/deps.sh scripts/debian-packages-bench.txt
	@BALLAST_BIN=$(abspath $(BINDIR)) BALLAST_SCRIPTS=$(abspath scripts) \
		$(BUILD)/bench/bench_load_ctl
BENCHES += bench-load-ctl
