# VM tier: boots Debian's kernel in qemu (tests/vm/run.sh) and runs guest scripts there; also `make demo-vm` and `make bench-vm`.

VM_WORKLOAD := $(OUT)/tests/workload
# Binaries the guest scripts use; fragments included before this one (cgroup/, bpf/) append theirs.
VM_GUEST_DEPS +=

# actcheck: the agent's cgroup actuation driven from guest scripts (t_60_systemd.sh).
VM_ACTCHECK := $(OUT)/tests/actcheck
VM_GUEST_DEPS += $(VM_ACTCHECK)
all: $(VM_ACTCHECK)

$(VM_ACTCHECK): $(OBJ)/tests/vm/actcheck.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# The page-cache thrasher's file (t_56_agent_psi.sh): sparse, so it costs no disk; read through the
# guest's 9p root (cache=loose) it fills the page cache like any file.
VM_THRASH_FILE := $(OUT)/tests/thrash-96m.dat
VM_GUEST_DEPS += $(VM_THRASH_FILE)
$(VM_THRASH_FILE):
	$(Q)mkdir -p $(@D)
	$(Q)truncate -s 96M $@

.PHONY: bench-vm vm-shell demo-vm

$(VM_WORKLOAD): tests/vm/workload.c | deps-ok
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

# One boot runs every tests/vm/t_*.sh; `make check-vm T="discovery top"` runs those whose names match.
check-vm: $(AGENT) $(VM_WORKLOAD) $(VM_GUEST_DEPS)
	$(Q)SNUG_OUT=$(abspath $(OUT)) SNUG_CACHE=$(SNUG_CACHE) tests/vm/check.sh check $(T)

# One boot runs every tests/vm/bench_*.sh (other modules add theirs there).
bench-vm: $(AGENT) $(VM_WORKLOAD) $(VM_GUEST_DEPS)
	$(Q)SNUG_OUT=$(abspath $(OUT)) SNUG_CACHE=$(SNUG_CACHE) SNUG_VM_TIMEOUT=1800 tests/vm/check.sh bench $(T)

bench: bench-vm

# The VM tier's demo (a fake API server in the guest, kubelet-style cgroups): what `make demo`
# (tests/node/node.mk) falls back to where the real node's parts cannot be had.
demo-vm: deps all $(VM_WORKLOAD) $(VM_GUEST_DEPS)
	$(Q)SNUG_OUT=$(abspath $(OUT)) SNUG_CACHE=$(SNUG_CACHE) SNUG_VM_TIMEOUT=180 \
		tests/vm/run.sh tests/vm/guest-run.sh demo

