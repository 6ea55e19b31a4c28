/* libFuzzer harness for the kube client's reply parsers: one input is tried as a Pod, a watch
 * event line, a PodList, a Node and a Status, so every defensive path sees hostile bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void skip(const char *why, void *ud)
{
	(void)why;
	(*(size_t *)ud)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char err[KUBE_ERRBUF];
	struct kube_pod *pod = NULL;
	struct kube_watch_event ev;
	struct kube_status st;
	struct kube_pod **pods = NULL;
	char *rv = NULL;
	size_t n = 0, skipped = 0;
	int v;

	if (kube_pod_parse_json(buf, size, &pod, err) == 0) {
		/* exercise the accessors on whatever was accepted */
		(void)kube_pod_annotation(pod, "snug.io/mode");
		for (size_t i = 0; i < pod->n_containers; i++)
			(void)kube_pod_container(pod, pod->containers[i].name);
		for (size_t i = 0; i < pod->n_init_containers; i++)
			if (!pod->init_containers[i].name)
				abort(); /* every init container has a name */
		if (kube_pod_requests(pod, true) < 0 || kube_pod_requests(pod, false) < 0)
			abort(); /* unset requests count 0, never negative */
		kube_pod_free(pod);
	} else if (memchr(err, 0, sizeof(err)) == NULL)
		abort(); /* the error text must always be terminated */

	if (kube_watch_event_parse(buf, size, &ev, err) == 0 && ev.type != KUBE_WATCH_ERROR &&
	    !ev.resource_version)
		abort(); /* every non-error event carries a resourceVersion */
	kube_watch_event_done(&ev);

	if (kube_pod_list_parse(buf, size, &pods, &n, &rv, skip, &skipped, err) == 0) {
		for (size_t i = 0; i < n; i++)
			kube_pod_free(pods[i]);
		free(pods);
		free(rv);
	}

	{
		cJSON *j = cJSON_ParseWithLength(buf, size);
		struct kube_node node;

		if (kube_node_parse(j, &node, err) == 0) {
			if (node.cpu_allocatable < 0 || node.memory_allocatable < 0 || !node.name)
				abort();
			kube_node_done(&node);
		} else if (memchr(err, 0, sizeof(err)) == NULL)
			abort();
		cJSON_Delete(j);
	}

	if (kube_status_parse(422, buf, size, &st) == 0) {
		(void)kube_classify(KUBE_CALL_RESIZE, &st, "pod");
		(void)kube_classify(KUBE_CALL_EVICT, &st, "pod");
		kube_status_done(&st);
	}
	(void)kube_discovery_has_resize(buf, size);
	(void)kube_version_parse(buf, size, &v);
	return 0;
}
