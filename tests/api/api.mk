# API tier (`make check-api`): everything against tests/fake-apiserver (Python, started per test on a
# random loopback port with a throwaway CA), in this order:
#   check-agent-api       `snug-agent run` end to end with a fake cgroup tree (test_agent_api.py)
#   check-fake-apiserver  the fake's own tests (tests/fake-apiserver/fakeapi.mk)
#   check-webhook         the eviction fallback's engine driver and `snug-agent webhook` (test_webhook_api.py)
#   the kube client       test_api_kube.c; SNUG_SOAK_SECONDS (default 60) sets the watch-drop soak
#                         length, `make check-api CK_RUN_CASE=test_name` runs one test
AGENT_PYTHON ?= /usr/bin/python3
API_KUBE := $(OUT)/tests/api-kube
FAKE_APISERVER := tests/fake-apiserver/fake_apiserver.py
SNUG_SOAK_SECONDS ?= 60

.PHONY: check-agent-api check-webhook

check-agent-api: $(AGENT)
	$(Q)mkdir -p $(OUT)/results
	$(Q)SNUG_AGENT=$(abspath $(AGENT)) SNUG_RESULTS=$(abspath $(OUT)/results/agent-api) \
		PYTHONDONTWRITEBYTECODE=1 $(AGENT_PYTHON) tests/api/test_agent_api.py $(AGENT_TESTS)

# The eviction fallback's engine driver: the webhook's API tests and the deploy tier's live check run
# it against the fake API server (the agent wires the engine itself).
FALLBACK_DRIVER := $(OUT)/tests/fallback-driver
$(FALLBACK_DRIVER): $(OBJ)/tests/api/fallback_driver.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

check-webhook: $(AGENT) $(FALLBACK_DRIVER)
	$(Q)mkdir -p $(OUT)/results
	$(Q)if ! command -v openssl >/dev/null || [ ! -x /usr/bin/python3 ]; then \
		echo "*** SKIPPED: check-webhook: openssl or python3 missing (make deps) ***"; \
		echo "webhook 0 0 1" > $(OUT)/results/webhook; \
	else \
		SNUG_AGENT=$(abspath $(AGENT)) SNUG_FALLBACK_DRIVER=$(abspath $(FALLBACK_DRIVER)) \
		SNUG_RESULTS=$(abspath $(OUT)/results/webhook) PYTHONDONTWRITEBYTECODE=1 \
			/usr/bin/python3 tests/api/test_webhook_api.py; \
	fi

$(API_KUBE): $(OBJ)/tests/api/test_api_kube.o $(OBJ)/tests/lib/kubetest.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) $(LDLIBS)

check-api: check-agent-api $(API_KUBE) check-fake-apiserver check-webhook
	$(Q)mkdir -p $(OUT)/results
	$(Q)if [ ! -f $(FAKE_APISERVER) ] || ! command -v openssl >/dev/null; then \
		echo "*** SKIPPED: api tier: $(FAKE_APISERVER) or openssl missing ***"; \
		echo "api 0 0 1" > $(OUT)/results/api; \
	else \
		start=$$(date +%s); rm -f $(OUT)/results/api.tmp; \
		SNUG_FAKE_APISERVER=$(abspath $(FAKE_APISERVER)) SNUG_SOAK_SECONDS=$(SNUG_SOAK_SECONDS) \
			SNUG_RESULTS=$(abspath $(OUT)/results/api.tmp) $(API_KUBE); rc=$$?; \
		if [ -f $(OUT)/results/api.tmp ]; then read -r p f < $(OUT)/results/api.tmp; else p=0 f=1; fi; \
		echo "api $$p $$f 0" > $(OUT)/results/api; rm -f $(OUT)/results/api.tmp; \
		echo "api: $$p passed, $$f failed in $$(( $$(date +%s) - start )) s"; \
		exit $$rc; \
	fi
