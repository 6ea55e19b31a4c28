# Host benchmarks (part of `make bench`), each printing BENCH lines:
#   bench-metrics      the metrics registry and endpoint at 250 containers: update, render, scrape
#                      (bench_metrics.c)
#   bench-recommender  feeding a sample, a recommendation, state size, checkpoint saves
#                      (bench_recommender.c);
#                      BENCH_STATE_DIR picks the filesystem the checkpoint benchmark writes to
#   bench-agent        the agent's OOM -> resize reaction and its footprint at 250 containers, at native
#                      speed against the fake API server (bench_agent.py; about a minute and a half)
# The VM's benchmarks are tests/vm/bench_*.sh (`make bench-vm`), the real node's `make bench-node`.
BENCH_METRICS := $(OUT)/tests/bench_metrics
BENCH_RECOMMENDER := $(OUT)/tests/bench_recommender

$(BENCH_METRICS): $(OBJ)/tests/bench/bench_metrics.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BENCH_RECOMMENDER): $(OBJ)/tests/bench/bench_recommender.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

.PHONY: bench-metrics bench-recommender bench-agent

bench-metrics: $(BENCH_METRICS)
	$(Q)$(BENCH_METRICS)

bench-recommender: $(BENCH_RECOMMENDER)
	$(Q)$(BENCH_RECOMMENDER) $(BENCH_STATE_DIR)

bench-agent: $(AGENT)
	$(Q)SNUG_AGENT=$(abspath $(AGENT)) PYTHONDONTWRITEBYTECODE=1 $(AGENT_PYTHON) tests/bench/bench_agent.py $(BENCH_AGENT_ARGS)

bench: bench-metrics bench-recommender bench-agent

# bench-history (not part of `make bench`: about 11 minutes): the shared workload history at 50 and
# 200 simulated nodes (BENCH_HISTORY_NODES) against a real kube-apiserver + etcd on loopback
# (bench_history.sh runs bench_history.c, the agent's own history_sync; docs/history-scale.md).
BENCH_HISTORY := $(OUT)/tests/bench_history

$(BENCH_HISTORY): $(OBJ)/tests/bench/bench_history.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS) -lm

.PHONY: bench-history
bench-history: $(BENCH_HISTORY)
	$(Q)SHARED_DIR=$(SHARED_DIR) SNUG_CACHE=$(SNUG_CACHE) tests/bench/bench_history.sh \
		$(abspath $(BENCH_HISTORY)) $(BENCH_HISTORY_NODES)
