# `make fuzz-admission`: libFuzzer (clang, ASan+UBSan) on the webhook's AdmissionReview handling for
# FUZZ_SECONDS, from the seed corpus in tests/data/webhook/corpus (copied, so new inputs do not land in
# the tree).
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_ADMISSION := $(OUT)/fuzz/fuzz-admission
FUZZ_ADMISSION_SRCS := tests/fuzz/fuzz_admission.c agent/webhook.c agent/decide_pod.c agent/util/quantity.c

.PHONY: fuzz-admission
fuzz: fuzz-admission

$(FUZZ_ADMISSION): $(FUZZ_ADMISSION_SRCS) agent/webhook.h agent/decide.h
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) $$($(PKG_CONFIG) --cflags libcjson) -o $@ $(FUZZ_ADMISSION_SRCS) \
		$$($(PKG_CONFIG) --libs libcjson)

fuzz-admission: $(FUZZ_ADMISSION)
	$(Q)rm -rf $(OUT)/fuzz/admission-corpus && mkdir -p $(OUT)/fuzz/admission-corpus
	$(Q)cp tests/data/webhook/corpus/* $(OUT)/fuzz/admission-corpus/
	$(Q)$(FUZZ_ADMISSION) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
		-artifact_prefix=$(OUT)/fuzz/admission- $(OUT)/fuzz/admission-corpus
