# `make fuzz-quantity`: libFuzzer (clang, ASan+UBSan, built apart from the gcc objects) on the
# Kubernetes quantity parser for FUZZ_SECONDS; the corpus persists in the cache so later runs start
# where earlier ones stopped.
FUZZ_QUANTITY := $(OUT)/fuzz/fuzz_quantity
FUZZ_QUANTITY_CORPUS := $(SNUG_CACHE)/fuzz/quantity

.PHONY: fuzz-quantity
fuzz: fuzz-quantity

$(FUZZ_QUANTITY): tests/fuzz/fuzz_quantity.c agent/util/quantity.c agent/util/quantity.h
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -std=gnu11 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ tests/fuzz/fuzz_quantity.c agent/util/quantity.c

fuzz-quantity: $(FUZZ_QUANTITY)
	$(Q)mkdir -p $(FUZZ_QUANTITY_CORPUS)
	$(Q)printf '250m' > $(FUZZ_QUANTITY_CORPUS)/seed-cpu; printf '0.5Gi' > $(FUZZ_QUANTITY_CORPUS)/seed-gi; \
		printf '1.3E+6' > $(FUZZ_QUANTITY_CORPUS)/seed-exp; printf '.000001Ki' > $(FUZZ_QUANTITY_CORPUS)/seed-frac
	$(Q)set -o pipefail; $(FUZZ_QUANTITY) -max_total_time=$(FUZZ_SECONDS) -max_len=256 \
		-artifact_prefix=$(abspath $(OUT)/fuzz)/ $(FUZZ_QUANTITY_CORPUS) 2>&1 | tail -n 3
