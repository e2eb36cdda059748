# ballastctl's own modules (cli/) are linked into the binary, not
# archived; their unit tests link the module's object directly.
$(BUILD)/tests/unit/test_cli_objects: %: %.o $(BUILD)/cli/objects.o \
		$(TEST_HELPER_OBJ) $(ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)
