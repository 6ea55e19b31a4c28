# Deploy tier: deploy/ is parsed, schema-checked, compared with its generated Helm chart, its RBAC
# compared with the calls in the code, its alert rules run through promtool and its dashboard's
# metrics looked up in a live scrape of the agent (tests/deploy/check_deploy.py).
#
# The container image check (`make check-image`: debootstrap rootfs → podman import → buildah bud
# → snug-agent --help in the image, under podman only on a pure cgroup v2 host) takes ~30 min on a
# cold cache (debootstrap ~15 min here, the build stage's apt-get + make ~13 min) and ~20 s warm, so
# check-deploy runs it only when the rootfs tarball is cached already and otherwise says so
# loudly; `make check-image` always runs it (and warms the cache).
IMAGE_CACHE := $(SNUG_CACHE)/image

.PHONY: check-deploy check-image deploy-generate

deploy-generate:
	$(Q)/usr/bin/python3 deploy/generate.py

# The eviction fallback's driver (tests/api/fallback_driver.c) lets the live check see its calls too.
check-deploy: $(AGENT) $(if $(wildcard tests/api/fallback_driver.c),$(OUT)/tests/fallback-driver)
	$(Q)mkdir -p $(OUT)/results
	$(Q)start=$$(date +%s); rc=0; \
	SNUG_CACHE=$(SNUG_CACHE) SNUG_RESULTS=$(abspath $(OUT)/results/deploy) \
		/usr/bin/python3 tests/deploy/check_deploy.py || rc=1; \
	if [ -f $(IMAGE_CACHE)/debian-bookworm-minbase.tar ]; then \
		SNUG_CACHE=$(SNUG_CACHE) tests/deploy/image.sh $(abspath $(OUT)/results/deploy-image) || rc=1; \
	else \
		echo "*** SKIPPED image: no cached Debian rootfs in $(IMAGE_CACHE); run 'make check-image' (minutes) ***"; \
		echo "0 0 1" > $(OUT)/results/deploy-image; \
	fi; \
	read -r p f s < $(OUT)/results/deploy-image; read -r _ P F S < $(OUT)/results/deploy; \
	echo "deploy $$((P + p)) $$((F + f)) $$((S + s))" > $(OUT)/results/deploy; \
	rm -f $(OUT)/results/deploy-image; \
	echo "deploy tier: $$((P + p)) passed, $$((F + f)) failed, $$((S + s)) skipped in $$(( $$(date +%s) - start )) s"; \
	exit $$rc

check-image: $(AGENT)
	$(Q)mkdir -p $(OUT)/results
	$(Q)SNUG_CACHE=$(SNUG_CACHE) SNUG_IMAGE_BUILD_ROOTFS=1 tests/deploy/image.sh $(abspath $(OUT)/results/image)
