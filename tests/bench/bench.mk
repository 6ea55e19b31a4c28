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
