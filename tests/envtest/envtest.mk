# Envtest tier (`make check-envtest`): a real kube-apiserver + etcd (1.36 and 1.33) on loopback,
# binaries from $(SHARED_DIR)/envtest decompressed once into $(SNUG_CACHE)/envtest/<version>/, in this
# order:
#   check-webhook-envtest  the eviction fallback: `snug-agent run` where the server cannot resize (1.36:
#                          a pod whose node cannot; 1.33: InPlacePodVerticalScaling=false), a real PDB,
#                          and the API server calling the webhook over HTTPS (webhook_envtest.{sh,py})
#   run.sh                 the kube client (test_envtest_kube.c) and `snug-agent run` end to end
#                          (agent_envtest.py) against the same control planes; on 1.36 also a smoke
#                          run of the history scale benchmark's program (bench_history, 3 nodes)
# Each part skips loudly without the binaries under $(SHARED_DIR)/envtest.
ENVTEST_KUBE := $(OUT)/tests/envtest-kube

$(ENVTEST_KUBE): $(OBJ)/tests/envtest/test_envtest_kube.o $(OBJ)/tests/lib/kubetest.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) $(LDLIBS)

.PHONY: check-webhook-envtest
check-webhook-envtest: $(AGENT)
	$(Q)mkdir -p $(OUT)/results
	$(Q)SHARED_DIR=$(SHARED_DIR) SNUG_CACHE=$(SNUG_CACHE) tests/envtest/webhook_envtest.sh \
		$(abspath $(AGENT)) $(abspath $(OUT)/results/webhook-envtest)

check-envtest: $(ENVTEST_KUBE) $(AGENT) $(BENCH_HISTORY) check-webhook-envtest
	$(Q)SNUG_OUT=$(abspath $(OUT)) SHARED_DIR=$(SHARED_DIR) SNUG_CACHE=$(SNUG_CACHE) \
		SNUG_AGENT=$(abspath $(AGENT)) SNUG_BENCH_HISTORY=$(abspath $(BENCH_HISTORY)) \
		tests/envtest/run.sh $(abspath $(ENVTEST_KUBE))
