# Fault injection (issue 8, tests/fault/test_<name>.c): cmocka programs
# built like the integration tests. make test runs the short versions;
# make soak runs the long ones (BALLAST_SOAK=1: 50 kills of ballastd,
# PostgreSQL down for 30 s, more objects).
FAULT_SRC := $(wildcard tests/fault/test_*.c)
FAULT_BIN := $(patsubst tests/fault/%.c,$(BUILD)/tests/fault/%,$(FAULT_SRC))

TEST_DEPS  += $(FAULT_BIN)
TEST_PROGS += $(FAULT_BIN)

.PHONY: soak
soak: deps
	@$(MAKE) --no-print-directory all $(FAULT_BIN)
	@BALLAST_SOAK=1 BALLAST_BIN=$(abspath $(BINDIR)) \
		BALLAST_SCRIPTS=$(abspath scripts) \
		scripts/run-tests.sh $(FAULT_BIN)
