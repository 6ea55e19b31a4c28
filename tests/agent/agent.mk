# check-agent-api: `snug-agent run` end to end against the fake API server and a fake cgroup tree (API tier).
AGENT_PYTHON ?= /usr/bin/python3

.PHONY: check-agent-api
check-agent-api: $(AGENT)
	$(Q)mkdir -p $(OUT)/results
	$(Q)SNUG_AGENT=$(abspath $(AGENT)) SNUG_RESULTS=$(abspath $(OUT)/results/agent-api) \
		PYTHONDONTWRITEBYTECODE=1 $(AGENT_PYTHON) tests/agent/test_agent_api.py $(AGENT_TESTS)

check-api: check-agent-api
