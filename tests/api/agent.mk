# check-agent-api: `snug-agent run` end to end against the fake API server and a fake cgroup tree (API tier); bench-agent.
AGENT_PYTHON ?= /usr/bin/python3

.PHONY: check-agent-api
check-agent-api: $(AGENT)
	$(Q)mkdir -p $(OUT)/results
	$(Q)SNUG_AGENT=$(abspath $(AGENT)) SNUG_RESULTS=$(abspath $(OUT)/results/agent-api) \
		PYTHONDONTWRITEBYTECODE=1 $(AGENT_PYTHON) tests/api/test_agent_api.py $(AGENT_TESTS)

check-api: check-agent-api

# bench-agent: the agent's OOM -> resize reaction and its footprint at 250 containers, on the host at
# native speed (tests/bench/bench_agent.py; about a minute and a half).
.PHONY: bench-agent
bench-agent: $(AGENT)
	$(Q)SNUG_AGENT=$(abspath $(AGENT)) PYTHONDONTWRITEBYTECODE=1 $(AGENT_PYTHON) tests/bench/bench_agent.py $(BENCH_AGENT_ARGS)

bench: bench-agent
