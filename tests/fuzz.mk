# Fuzzing (tests/fuzz/fuzz_<name>.c).
#
# make test replays each harness's committed corpus (tests/fuzz/corpus/NAME)
# through tests/fuzz/driver.c; make fuzz builds the harnesses with clang's
# libFuzzer, ASan and UBSan and runs each for FUZZ_SECONDS.
FUZZ_NAMES  := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(patsubst %,$(BUILD)/fuzz/replay_%,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 60

$(BUILD)/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/driver.o $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

TEST_DEPS  += $(FUZZ_REPLAY)
TEST_PROGS += $(FUZZ_REPLAY)

.PHONY: fuzz
fuzz: deps
	@scripts/deps.sh scripts/debian-packages-fuzz.txt
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -g" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
		$(patsubst %,build-fuzz/fuzz/fuzz_%,$(FUZZ_NAMES))
	@scripts/run-fuzz.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)
