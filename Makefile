# ballast: one non-recursive Makefile.
#
#   make            build every binary into bin/
#   make test       install missing packages, build, run every test
#   make bench      run every benchmark (bench-<name> runs one)
#   make DEV=1      warnings become errors
#   make asan       build and run the tests under ASan and UBSan
#   make deps       install the Debian packages the build needs
#   make fuzz       run every libFuzzer harness for FUZZ_SECONDS (default 60)
#   make soak       the long fault-injection suite (tests/fault.mk)
#   make demo       the whole thing on loopback: converge a skewed cluster
#                   (KEEP=1 leaves it running)
#
# Each area may add a fragment (bench/*.mk, tests/*.mk) that appends to
# BENCHES or TEST_DEPS; the rules for modules, binaries and tests are here.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

BUILD   ?= build
BINDIR  ?= bin
PREFIX  ?= /usr/local
DESTDIR ?=
DATADIR ?= $(PREFIX)/share
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

CC      ?= cc
OPT     ?= -O2 -g
SAN     ?=
PKGS    := libmicrohttpd libcurl jansson libpq openssl sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libev ships no pkg-config file on Debian.
PKG_LIBS   += -lev -lpthread -lm

WARN := -Wall -Wextra -Wno-unused-parameter
# Truncated messages are intended (bounded error strings); clang has no
# such warning to turn off.
ifeq ($(findstring clang,$(shell $(CC) --version 2>/dev/null)),)
WARN += -Wno-format-truncation
endif
ifeq ($(DEV),1)
WARN += -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
endif

CPPFLAGS += -I. -D_GNU_SOURCE
CFLAGS   += -std=c11 $(OPT) $(WARN) $(SAN) $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += $(SAN)

# --- modules: folder = module = static archive ---------------------------
MODULES := lib placement policy migrate
define module_rules
$(1)_SRC := $$(wildcard $(1)/*.c)
$(1)_OBJ := $$(patsubst %.c,$$(BUILD)/%.o,$$($(1)_SRC))
$$(BUILD)/lib$(1).a: $$($(1)_OBJ)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

# Link order: higher layers first.
ARCHIVES := $(foreach m,migrate policy placement lib,$(if $($(m)_SRC),$(BUILD)/lib$(m).a))

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The status page (GET /ui) is controller/ui.html, compiled in as a string.
$(BUILD)/controller/ui_html.c: controller/ui.html
	@mkdir -p $(@D)
	{ printf '#include "controller/ctl.h"\n\nconst char ctl_ui_html[] =\n'; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  printf ';\nconst size_t ctl_ui_html_len = sizeof(ctl_ui_html) - 1;\n'; \
	} >$@

$(BUILD)/controller/ui_html.o: $(BUILD)/controller/ui_html.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# --- binaries ---------------------------------------------------------------
CLI_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(wildcard cli/*.c))
AGENT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard agent/*.c))
CTL_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(wildcard controller/*.c)) \
             $(BUILD)/controller/ui_html.o

BINS := $(if $(CLI_OBJ),$(BINDIR)/ballastctl) \
        $(if $(AGENT_OBJ),$(BINDIR)/ballast-agent) \
        $(if $(CTL_OBJ),$(BINDIR)/ballastd)

$(BINDIR)/ballastctl: $(CLI_OBJ) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BINDIR)/ballast-agent: $(AGENT_OBJ) $(BUILD)/liblib.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BINDIR)/ballastd: $(CTL_OBJ) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

all: $(BINS)

# --- tests ------------------------------------------------------------------
# tests/unit/test_<module>.c and tests/integration/test_<name>.c are cmocka
# programs, one binary each. Integration tests find the daemons through
# BALLAST_BIN and the golden data through BALLAST_GOLDEN.
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
TEST_HELPER_SRC := $(wildcard tests/helpers/*.c)
TEST_HELPER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(TEST_HELPER_SRC))
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
INTEG_BIN := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(INTEG_SRC))
TEST_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_HELPER_OBJ) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)

GOLDEN ?= $(abspath tests/golden)
TEST_DEPS :=
TEST_PROGS :=

# --- benchmarks -------------------------------------------------------------
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
BENCHES :=

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

include $(sort $(wildcard bench/*.mk tests/*.mk))

# --- top-level targets ------------------------------------------------------
.PHONY: all deps test check unit-test integration-test bench asan clean install docs demo

deps:
	@scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(INTEG_BIN) $(TEST_DEPS)
	@BALLAST_BIN=$(abspath $(BINDIR)) BALLAST_GOLDEN=$(GOLDEN) \
		BALLAST_SCRIPTS=$(abspath scripts) \
		BALLAST_FUZZ_CORPUS=$(abspath tests/fuzz/corpus) \
		scripts/run-tests.sh $(UNIT_BIN) $(INTEG_BIN) $(TEST_PROGS)

check: test

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@$(MAKE) --no-print-directory $(BENCHES)

asan: deps
	@$(MAKE) --no-print-directory test BUILD=build-asan BINDIR=build-asan/bin \
		OPT="-O1 -g" \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

demo: deps
	@$(MAKE) --no-print-directory -j2 all
	@scripts/demo.sh $(if $(filter 1,$(KEEP)),--keep)

# Binaries; example configs, dashboards and Prometheus files under
# $(DATADIR)/ballast (nothing in /etc is overwritten); systemd units with
# their ExecStart pointed at $(PREFIX)/bin; the bash completion; the docs.
SHARE_EXAMPLES := etc/ballast.json etc/ballast-agent.json
SHARE_GRAFANA  := $(wildcard etc/grafana/*.json)
SHARE_PROM     := $(wildcard etc/prometheus/*.yml)
UNITS          := $(wildcard etc/systemd/*.service)
DOCS           := $(wildcard docs/*.md)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)/ballast/examples \
		$(DESTDIR)$(DATADIR)/ballast/grafana \
		$(DESTDIR)$(DATADIR)/ballast/prometheus \
		$(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(DATADIR)/bash-completion/completions \
		$(DESTDIR)$(DATADIR)/doc/ballast
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(SHARE_EXAMPLES) $(DESTDIR)$(DATADIR)/ballast/examples/
	install -m 0644 $(SHARE_GRAFANA) $(DESTDIR)$(DATADIR)/ballast/grafana/
	install -m 0644 $(SHARE_PROM) $(DESTDIR)$(DATADIR)/ballast/prometheus/
	for u in $(UNITS); do \
		sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' \
		    -e 's|/usr/local/share/|$(DATADIR)/|g' $$u \
		    >$(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$u).tmp && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$u).tmp && \
		mv $(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$u).tmp \
		    $(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$u) || exit 1; \
	done
	install -m 0644 etc/bash_completion.d/ballastctl \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/ballastctl
	install -m 0644 $(DOCS) $(DESTDIR)$(DATADIR)/doc/ballast/

# docs/config.md is generated from the config tables; a test compares.
docs: all
	scripts/gen-config-doc.sh $(BINDIR) >docs/config.md.tmp
	mv docs/config.md.tmp docs/config.md

clean:
	rm -rf $(BUILD) build-asan build-fuzz $(BINDIR)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
