# make bench-plan: the planner on 1M and 10M objects over 1,000 nodes
# (bench/bench_plan.c).
.PHONY: bench-plan
bench-plan: $(BUILD)/bench/bench_plan
	@$(BUILD)/bench/bench_plan
BENCHES += bench-plan
