# make bench-plan: the planner on 1M and 10M objects over 1,000 nodes
# (bench/bench_plan.c), then `ballastctl plan` end to end on a 10M-row CSV
# against an awk pass over the same file (bench/bench_plan_cli.c).
.PHONY: bench-plan
# The same-host map is tests/helpers/th_samehost.c, shared with the unit
# test, so it links tests/helpers.
$(BUILD)/bench/bench_plan: $(BUILD)/bench/bench_plan.o $(TEST_HELPER_OBJ) \
    $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench-plan: $(BUILD)/bench/bench_plan $(BUILD)/bench/bench_plan_cli bin/ballastctl
	@$(BUILD)/bench/bench_plan
	@BALLAST_BIN=$(CURDIR)/bin $(BUILD)/bench/bench_plan_cli
BENCHES += bench-plan
