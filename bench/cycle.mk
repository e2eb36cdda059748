# make bench-cycle: one control-loop cycle over 1M and 10M objects and
# 1,000 nodes (stand-in agents in the bench process) through a real
# ballastd on a private PostgreSQL, and the objects import against a raw
# COPY of the same rows in the same run (bench/bench_cycle.c, issue #13).
# $BENCH_CYCLE_OBJECTS (e.g. 100000,1000000) and $BENCH_CYCLE_CANDIDATES
# choose the sizes; $BENCH_CYCLE_EXPLAIN=1 logs the slow statements' plans
# with ANALYZE; $BENCH_CYCLE_KEEP=1 leaves PostgreSQL running at the end.
# It uses the integration test helpers.
.PHONY: bench-cycle
BENCH_CYCLE_HELPERS := $(BUILD)/tests/helpers/th_pg.o \
	$(BUILD)/tests/helpers/th_ctl.o $(BUILD)/tests/helpers/agent_harness.o

$(BUILD)/bench/bench_cycle: $(BUILD)/bench/bench_cycle.o \
    $(BENCH_CYCLE_HELPERS) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench-cycle: $(BUILD)/bench/bench_cycle all
	@BALLAST_BIN=$(abspath $(BINDIR)) BALLAST_SCRIPTS=$(abspath scripts) \
		$(BUILD)/bench/bench_cycle
BENCHES += bench-cycle
