# make bench-engine: evacuate 20,000 x 4 KiB, 20,000 x 64 KiB and 2,000 x
# 1 MiB objects across 4 real agents through a real ballastd on a private
# PostgreSQL, each against a raw GET of the same bytes, and the metadata commit
# rate against a raw batched UPDATE ... FROM unnest(...) of the same rows
# (bench/bench_engine.c). It uses the integration test helpers.
.PHONY: bench-engine
BENCH_ENGINE_HELPERS := $(BUILD)/tests/helpers/th_pg.o \
	$(BUILD)/tests/helpers/th_ctl.o $(BUILD)/tests/helpers/agent_harness.o

$(BUILD)/bench/bench_engine: $(BUILD)/bench/bench_engine.o \
    $(BUILD)/bench/rawget.o $(BENCH_ENGINE_HELPERS) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench-engine: $(BUILD)/bench/bench_engine all
	@BALLAST_BIN=$(abspath $(BINDIR)) BALLAST_SCRIPTS=$(abspath scripts) \
		$(BUILD)/bench/bench_engine
BENCHES += bench-engine
