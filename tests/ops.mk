# Operators' view (issue 7). ballastd's objects are linked into the daemon
# directly, not archived; these tests also need controller/metrics.o
# (before the archives, for the link order).
CTL_METRICS_TESTS := $(BUILD)/tests/unit/test_ctl_metrics \
	$(BUILD)/tests/integration/test_metrics

$(CTL_METRICS_TESTS): %: %.o $(BUILD)/controller/metrics.o \
		$(BUILD)/controller/routes.o \
		$(TEST_HELPER_OBJ) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)
