# VM tier: boots Debian's kernel in qemu (tests/vm/run.sh) and runs guest scripts there; also `make demo-vm` and `make bench-vm`.

VM_WORKLOAD := $(OUT)/tests/workload

# The tools the guest scripts run (tests/vm/lib.sh names them), all in build/tests/:
#   cgcheck        the cgroup library from shell scripts: discover, sample, write (cgcheck.c)
#   bench-sampler  the sampler's cost per container per tick (bench_sampler.c, bench_sampler.sh)
#   actcheck       the agent's cgroup actuation (actcheck.c, t_60_systemd.sh)
#   oom-bench      OOM-kill delivery latency, BPF vs memory.events (oom_bench.c, bench_oom.sh)
VM_CGCHECK := $(OUT)/tests/cgcheck
VM_BENCH_SAMPLER := $(OUT)/tests/bench-sampler
VM_ACTCHECK := $(OUT)/tests/actcheck
VM_OOM_BENCH := $(OUT)/tests/oom-bench
VM_GUEST_DEPS := $(VM_CGCHECK) $(VM_BENCH_SAMPLER) $(VM_OOM_BENCH) $(VM_ACTCHECK)

$(VM_CGCHECK): $(OBJ)/tests/vm/cgcheck.o $(LIB)
$(VM_BENCH_SAMPLER): $(OBJ)/tests/vm/bench_sampler.o $(LIB)
$(VM_ACTCHECK): $(OBJ)/tests/vm/actcheck.o $(LIB)
$(VM_OOM_BENCH): $(OBJ)/tests/vm/oom_bench.o $(LIB)
$(VM_CGCHECK) $(VM_BENCH_SAMPLER) $(VM_ACTCHECK) $(VM_OOM_BENCH):
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# The page-cache thrasher's file (t_56_agent_psi.sh): sparse, so it costs no disk; read through the
# guest's 9p root (cache=loose) it fills the page cache like any file.
# t_57_agent_psi_hold.sh reads a file of its own: pages t_56 left cached are charged to t_56's
# cgroup, and reading them charges nothing to the next reader (no reclaim, no stall).
VM_THRASH_FILE := $(OUT)/tests/thrash-96m.dat
VM_HOLD_FILE := $(OUT)/tests/thrash-hold-96m.dat
VM_GUEST_DEPS += $(VM_THRASH_FILE) $(VM_HOLD_FILE)
$(VM_THRASH_FILE) $(VM_HOLD_FILE):
	$(Q)mkdir -p $(@D)
	$(Q)truncate -s 96M $@

# `make` builds the tools as well; check-unit builds the cgroup ones.
.PHONY: cg-tools vm-guest-deps
cg-tools: $(VM_CGCHECK) $(VM_BENCH_SAMPLER)
all: cg-tools $(VM_ACTCHECK)
check-unit: cg-tools
# What a boot needs built, by name: a fragment read before this one (tests/node/node.mk) cannot expand
# the variables above yet.
vm-guest-deps: $(AGENT) $(VM_WORKLOAD) $(VM_GUEST_DEPS)

.PHONY: bench-vm vm-shell demo-vm

$(VM_WORKLOAD): tests/vm/workload.c | deps-ok
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lm

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

