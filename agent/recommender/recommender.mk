# Recommender benchmarks: `make bench-recommender` (part of `make bench`) prints BENCH lines.

BENCH_RECOMMENDER := $(OUT)/tests/bench_recommender

$(BENCH_RECOMMENDER): $(OBJ)/tests/bench/bench_recommender.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

.PHONY: bench-recommender
# BENCH_STATE_DIR picks the filesystem the checkpoint benchmark writes to (default: a temp dir).
bench-recommender: $(BENCH_RECOMMENDER)
	$(Q)$(BENCH_RECOMMENDER) $(BENCH_STATE_DIR)

bench: bench-recommender
