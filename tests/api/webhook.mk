# The eviction-fallback webhook's own targets: the AdmissionReview fuzzer (`make fuzz`), the API-tier
# tests against the fake API server (`make check-webhook`, part of check-api), and the engine driver.
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_ADMISSION := $(OUT)/fuzz/fuzz-admission
FUZZ_ADMISSION_SRCS := tests/fuzz/fuzz_admission.c agent/webhook.c agent/decide_pod.c agent/util/quantity.c

$(FUZZ_ADMISSION): $(FUZZ_ADMISSION_SRCS) agent/webhook.h agent/decide.h
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) $$($(PKG_CONFIG) --cflags libcjson) -o $@ $(FUZZ_ADMISSION_SRCS) \
		$$($(PKG_CONFIG) --libs libcjson)

# Runs FUZZ_SECONDS from the seed corpus (copied, so new inputs do not land in the tree).
.PHONY: fuzz-admission
fuzz-admission: $(FUZZ_ADMISSION)
	$(Q)rm -rf $(OUT)/fuzz/admission-corpus && mkdir -p $(OUT)/fuzz/admission-corpus
	$(Q)cp tests/data/webhook/corpus/* $(OUT)/fuzz/admission-corpus/
	$(Q)$(FUZZ_ADMISSION) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
		-artifact_prefix=$(OUT)/fuzz/admission- $(OUT)/fuzz/admission-corpus

fuzz: fuzz-admission

# The engine driver the API tests run against the fake API server (the agent wires the engine itself).
FALLBACK_DRIVER := $(OUT)/tests/fallback-driver
$(FALLBACK_DRIVER): $(OBJ)/tests/api/fallback_driver.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# API tier for the fallback: engine driver + `snug-agent webhook` + the fake API server's controller.
.PHONY: check-webhook
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

check-api: check-webhook

# Envtest tier for the fallback: `snug-agent run` against real kube-apiserver 1.36 (a pod whose node
# cannot resize) and 1.33 (InPlacePodVerticalScaling=false), a real PDB, and the API server calling the
# webhook over HTTPS on loopback. Skips loudly without the binaries under $(SHARED_DIR)/envtest.
.PHONY: check-webhook-envtest
check-webhook-envtest: $(AGENT)
	$(Q)mkdir -p $(OUT)/results
	$(Q)SHARED_DIR=$(SHARED_DIR) SNUG_CACHE=$(SNUG_CACHE) tests/envtest/webhook_envtest.sh \
		$(abspath $(AGENT)) $(abspath $(OUT)/results/webhook-envtest)

check-envtest: check-webhook-envtest
