# `make fuzz-kube-pod`: libFuzzer (clang, ASan+UBSan) on the kube client's reply parsers for
# FUZZ_SECONDS (Makefile default), seeded with the recorded kube-apiserver replies in tests/data/kube.
FUZZ_KUBE_DIR := $(OUT)/fuzz/kube-pod
FUZZ_KUBE_BIN := $(FUZZ_KUBE_DIR)/fuzz-kube-pod
FUZZ_KUBE_SRCS := tests/fuzz/fuzz_kube_pod.c agent/kube/pod.c agent/kube/list.c agent/kube/status.c \
	agent/kube/node.c \
	agent/util/quantity.c agent/util/qos.c agent/util/log.c agent/util/parse.c

.PHONY: fuzz-kube-pod
fuzz: fuzz-kube-pod

$(FUZZ_KUBE_BIN): $(FUZZ_KUBE_SRCS) $(wildcard agent/kube/*.h agent/util/*.h) | deps-ok
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -I. $(shell $(PKG_CONFIG) --cflags libcjson libsystemd libcurl) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $@ $(FUZZ_KUBE_SRCS) $(shell $(PKG_CONFIG) --libs libcjson) -lm

fuzz-kube-pod: $(FUZZ_KUBE_BIN)
	$(Q)rm -rf $(FUZZ_KUBE_DIR)/seeds && mkdir -p $(FUZZ_KUBE_DIR)/seeds $(FUZZ_KUBE_DIR)/corpus
	$(Q)python3 tests/fuzz/seeds.py tests/data/kube $(FUZZ_KUBE_DIR)/seeds
	$(Q)cd $(FUZZ_KUBE_DIR) && ./fuzz-kube-pod -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
		-dict=$(abspath tests/fuzz/kube.dict) -print_final_stats=1 corpus seeds 2>&1 | \
		grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==|SUMMARY|artifact)' ; \
		test $${PIPESTATUS[0]} -eq 0 && echo "fuzz-kube-pod: no crash in $(FUZZ_SECONDS) s"
