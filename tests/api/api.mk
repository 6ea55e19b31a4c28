# API tier: the kube client against tests/fake-apiserver (Python, started per test on a random
# loopback port with a throwaway CA). SNUG_SOAK_SECONDS (default 60) sets the watch-drop soak length;
# `make check-api CK_RUN_CASE=test_name` runs one test.
API_KUBE := $(OUT)/tests/api-kube
FAKE_APISERVER := tests/fake-apiserver/fake_apiserver.py
SNUG_SOAK_SECONDS ?= 60

$(API_KUBE): $(OBJ)/tests/api/test_api_kube.o $(OBJ)/tests/lib/kubetest.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) $(LDLIBS)

check-api: $(API_KUBE)
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
