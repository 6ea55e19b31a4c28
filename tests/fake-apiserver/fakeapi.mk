# check-fake-apiserver: the fake Kubernetes API server's own tests (transcript replay against the
# recorded real kube-apiserver answers + its kubelet/controller/fault machinery). Python 3 stdlib only.
FAKEAPI_PYTHON ?= /usr/bin/python3

.PHONY: check-fake-apiserver
check-fake-apiserver:
	$(Q)mkdir -p $(OUT)/results
	$(Q)command -v openssl >/dev/null || { echo "check-fake-apiserver: openssl CLI missing (make deps)" >&2; exit 1; }
	$(Q)cd tests/fake-apiserver && SHARED_DIR=$(SHARED_DIR) SNUG_RESULTS=$(abspath $(OUT)/results/fake-apiserver) \
		PYTHONDONTWRITEBYTECODE=1 $(FAKEAPI_PYTHON) test_fake_apiserver.py

check-api: check-fake-apiserver
