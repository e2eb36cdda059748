# make bench-plan: the planner on 1M and 10M objects over 1,000 nodes
# (bench/bench_plan.c), then `ballastctl plan` end to end on a 10M-row CSV
# against an awk pass over the same file (bench/bench_plan_cli.c).
.PHONY: bench-plan
bench-plan: $(BUILD)/bench/bench_plan $(BUILD)/bench/bench_plan_cli bin/ballastctl
	@$(BUILD)/bench/bench_plan
	@BALLAST_BIN=$(CURDIR)/bin $(BUILD)/bench/bench_plan_cli
BENCHES += bench-plan
