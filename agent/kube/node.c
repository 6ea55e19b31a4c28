/* The agent's own Node: GET /api/v1/nodes/NAME and the status.allocatable cpu and memory a grow
 * must fit in, parsed with an error naming the field. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/quantity.h"

int kube_node_parse(const cJSON *obj, struct kube_node *ret, char *errbuf)
{
	const cJSON *meta, *status, *alloc;
	const char *kind, *name, *rv, *cpu, *mem;
	struct kube_node n = { 0 };
	int r;

	if (!cJSON_IsObject(obj))
		return kube_err(errbuf, "node: not an object");
	r = kube_json_string(obj, "kind", "node", &kind, errbuf);
	if (r < 0)
		return r;
	if (kind && strcmp(kind, "Node") != 0)
		return kube_err(errbuf, "node.kind: \"%.32s\", not Node", kind);
	r = kube_json_object(obj, "metadata", "node", &meta, errbuf);
	if (r < 0)
		return r;
	if (!meta)
		return kube_err(errbuf, "node.metadata: missing");
	r = kube_json_string(meta, "name", "node.metadata", &name, errbuf);
	if (r < 0)
		return r;
	if (!name || !*name)
		return kube_err(errbuf, "node.metadata.name: missing");
	r = kube_json_string(meta, "resourceVersion", "node.metadata", &rv, errbuf);
	if (r < 0)
		return r;
	r = kube_json_object(obj, "status", "node", &status, errbuf);
	if (r < 0)
		return r;
	if (!status)
		return kube_err(errbuf, "node %.64s: status: missing", name);
	/* No fallback to capacity: allocatable is what the kubelet admits against; a node that
	 * does not report it is one we know nothing reliable about. */
	r = kube_json_object(status, "allocatable", "node.status", &alloc, errbuf);
	if (r < 0)
		return r;
	if (!alloc)
		return kube_err(errbuf, "node %.64s: status.allocatable: missing", name);
	r = kube_json_string(alloc, "cpu", "node.status.allocatable", &cpu, errbuf);
	if (r < 0)
		return r;
	if (!cpu)
		return kube_err(errbuf, "node %.64s: status.allocatable.cpu: missing", name);
	if (quantity_parse_cpu_millis(cpu, &n.cpu_allocatable) < 0 || n.cpu_allocatable < 0)
		return kube_err(errbuf,
				"node %.64s: status.allocatable.cpu: bad quantity \"%.32s\"", name,
				cpu);
	r = kube_json_string(alloc, "memory", "node.status.allocatable", &mem, errbuf);
	if (r < 0)
		return r;
	if (!mem)
		return kube_err(errbuf, "node %.64s: status.allocatable.memory: missing", name);
	if (quantity_parse_bytes(mem, &n.memory_allocatable) < 0 || n.memory_allocatable < 0)
		return kube_err(errbuf,
				"node %.64s: status.allocatable.memory: bad quantity \"%.32s\"",
				name, mem);
	n.name = strdup(name);
	if (!n.name)
		return -ENOMEM;
	if (rv && !(n.resource_version = strdup(rv))) {
		free(n.name);
		return -ENOMEM;
	}
	*ret = n;
	return 0;
}

void kube_node_done(struct kube_node *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->resource_version);
	*n = (struct kube_node){ 0 };
}

int64_t kube_pod_requests(const struct kube_pod *p, bool cpu)
{
	int64_t sum = 0;

	for (size_t i = 0; i < p->n_containers; i++) {
		const struct kube_container *c = &p->containers[i];
		int64_t v = cpu ? c->spec.cpu_request : c->spec.mem_request;

		/* During a resize the scheduler counts the larger of spec, allocated and actual. */
		if (c->has_allocated) {
			int64_t a = cpu ? c->allocated.cpu_request : c->allocated.mem_request;

			v = a > v ? a : v;
		}
		if (c->has_actual) {
			int64_t a = cpu ? c->actual.cpu_request : c->actual.mem_request;

			v = a > v ? a : v;
		}
		if (v > 0)
			sum += v;
	}
	return sum;
}
