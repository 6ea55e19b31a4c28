# Node tier: the real kubelet (1.36 and 1.33) and containerd in the VM run real containers against a
# real kube-apiserver on the host's loopback, and snug-agent manages them (tests/node/README.md).

NODE_DIR := $(OUT)/node
# Static binaries for the locally built images (no registry): the pause container and the VM tier's
# workload, beside Debian's busybox-static.
NODE_PAUSE := $(NODE_DIR)/pause
NODE_WORKLOAD := $(NODE_DIR)/workload
NODE_IMAGES := $(NODE_DIR)/images/pause.tar $(NODE_DIR)/images/workload.tar

$(NODE_PAUSE): tests/node/pause.c | deps-ok
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $< $(LDFLAGS)

$(NODE_WORKLOAD): tests/vm/workload.c | deps-ok
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $< $(LDFLAGS) -lm

$(NODE_IMAGES) &: $(NODE_PAUSE) $(NODE_WORKLOAD) tests/node/images.py
	$(call msg,IMAGES,$(NODE_DIR)/images)
	$(Q)python3 tests/node/images.py $(NODE_DIR)/images $(NODE_PAUSE) $(NODE_WORKLOAD) /bin/busybox >/dev/null

.PHONY: check-node
# One boot per kubelet version; `make check-node T="oom-restart"` runs only the scenarios named,
# SNUG_NODE_VERSIONS=1.36.2 one version.
check-node: $(AGENT) $(NODE_IMAGES)
	$(Q)SNUG_OUT=$(abspath $(OUT)) SNUG_CACHE=$(SNUG_CACHE) SHARED_DIR=$(SHARED_DIR) \
		tests/node/check.sh check $(T)


.PHONY: bench-node bench-value
# The node-limit-enforced, startup-boost and value benchmarks (tests/node/node_bench.py,
# node_value.py): one boot with kubelet 1.36.2. SNUG_NODE_BENCH_KILLS (12) OOM kills per path;
# SNUG_VALUE_SECONDS (720) of the value suite. `make bench-value`: the value benchmark alone.
# The value benchmark's pictures (value-<policy>.png) go beside its value.csv.
VALUE_RES := $(abspath $(OUT))/node/bench-1.36.2
bench-node: $(AGENT) $(NODE_IMAGES)
	$(Q)SNUG_OUT=$(abspath $(OUT)) SNUG_CACHE=$(SNUG_CACHE) SHARED_DIR=$(SHARED_DIR) \
		tests/node/check.sh bench; rc=$$?; \
	if [ -s $(VALUE_RES)/value.csv ]; then tests/node/value_plot.sh $(VALUE_RES)/value.csv $(VALUE_RES); fi; \
	[ $$rc -eq 0 ] || [ $$rc -eq 77 ]

bench-value: $(AGENT) $(NODE_IMAGES)
	$(Q)SNUG_OUT=$(abspath $(OUT)) SNUG_CACHE=$(SNUG_CACHE) SHARED_DIR=$(SHARED_DIR) \
		tests/node/check.sh bench value; rc=$$?; \
	if [ -s $(VALUE_RES)/value.csv ]; then tests/node/value_plot.sh $(VALUE_RES)/value.csv $(VALUE_RES); fi; \
	[ $$rc -eq 0 ] || [ $$rc -eq 77 ]

bench: bench-node

# `make demo`: the story on the real node (kubelet 1.36.2, tests/node/node_demo.py); where its parts
# cannot be had (check.sh exits 77 with a SKIPPED line), the VM tier's demo with a fake API server.
demo: deps all vm-guest-deps $(NODE_IMAGES)
	$(Q)SNUG_OUT=$(abspath $(OUT)) SNUG_CACHE=$(SNUG_CACHE) SHARED_DIR=$(SHARED_DIR) \
		tests/node/check.sh demo; rc=$$?; \
	if [ $$rc -eq 77 ]; then \
		echo "*** make demo: NO REAL NODE HERE (see the SKIPPED line above): falling back to the VM" \
			"tier's demo, where a fake API server plays the kubelet ***" >&2; \
		$(MAKE) --no-print-directory demo-vm; \
	else exit $$rc; fi
