# `make fuzz-cgroup`: libFuzzer (clang, ASan+UBSan) on the cgroup file parsers for FUZZ_SECONDS
# (Makefile default), seeded with the kernel text in tests/data/cgroup (captured from a 6.1 kernel).
FUZZ_CG_DIR := $(OUT)/fuzz/cgroup
FUZZ_CG_BIN := $(FUZZ_CG_DIR)/fuzz-cgroup
FUZZ_CG_SRCS := tests/fuzz/fuzz_cgroup_files.c cgroup/files.c agent/util/log.c agent/util/parse.c

.PHONY: fuzz-cgroup
fuzz: fuzz-cgroup

$(FUZZ_CG_BIN): $(FUZZ_CG_SRCS) cgroup/files.h | deps-ok
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -I. \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $@ $(FUZZ_CG_SRCS) -lm

fuzz-cgroup: $(FUZZ_CG_BIN)
	$(Q)rm -rf $(FUZZ_CG_DIR)/seeds && mkdir -p $(FUZZ_CG_DIR)/seeds $(FUZZ_CG_DIR)/corpus
	$(Q)i=0; for f in $$(ls -d tests/data/cgroup/*-* | grep -v kernel-6.1) $$(find tests/data/cgroup/kernel-6.1/tree -type f \
		\( -name 'cpu.*' -o -name 'memory.*' \) | head -200); do i=$$((i+1)); \
		cp "$$f" "$(FUZZ_CG_DIR)/seeds/$$i-$$(basename $$f)"; done
	$(Q)cd $(FUZZ_CG_DIR) && ./fuzz-cgroup -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		-print_final_stats=1 corpus seeds 2>&1 | \
		grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==|SUMMARY|artifact)' ; \
		test $${PIPESTATUS[0]} -eq 0 && echo "fuzz-cgroup: no crash in $(FUZZ_SECONDS) s"
