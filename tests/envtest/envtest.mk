# Envtest tier: the kube client and `snug-agent run` against a real kube-apiserver + etcd (1.36 and
# 1.33) on loopback,
# binaries from $(SHARED_DIR)/envtest decompressed once into $(SNUG_CACHE)/envtest/<version>/.
ENVTEST_KUBE := $(OUT)/tests/envtest-kube

$(ENVTEST_KUBE): $(OBJ)/tests/envtest/test_envtest_kube.o $(OBJ)/tests/lib/kubetest.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) $(LDLIBS)

# The agent end to end (agent_envtest.py) runs against the same control planes.
check-envtest: $(ENVTEST_KUBE) $(AGENT)
	$(Q)SNUG_OUT=$(abspath $(OUT)) SHARED_DIR=$(SHARED_DIR) SNUG_CACHE=$(SNUG_CACHE) \
		SNUG_AGENT=$(abspath $(AGENT)) \
		tests/envtest/run.sh $(abspath $(ENVTEST_KUBE))
