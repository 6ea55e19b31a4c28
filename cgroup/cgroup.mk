# cgroup/: the tools the VM tier and the sampler benchmark run (build/tests/cgcheck, build/tests/bench-sampler).

CG_TOOLS := $(OUT)/tests/cgcheck $(OUT)/tests/bench-sampler
VM_GUEST_DEPS += $(CG_TOOLS)

.PHONY: cg-tools
cg-tools: $(CG_TOOLS)
all: cg-tools
check-unit: cg-tools

$(OUT)/tests/cgcheck: $(OBJ)/tests/vm/cgcheck.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(OUT)/tests/bench-sampler: $(OBJ)/tests/vm/bench_sampler.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)
