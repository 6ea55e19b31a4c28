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
	const char *kind, *name, *rv, *uid, *cpu, *mem;
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
	r = kube_json_string(meta, "uid", "node.metadata", &uid, errbuf);
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
	if ((rv && !(n.resource_version = strdup(rv))) || (uid && !(n.uid = strdup(uid)))) {
		kube_node_done(&n);
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
	free(n->uid);
	*n = (struct kube_node){ 0 };
}

static int64_t request_of(const struct resources *r, bool cpu)
{
	return cpu ? r->cpu_request : r->memory_request;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t add_saturated(int64_t a, int64_t b)
{
	int64_t sum;

	/* Saturating: requests near INT64_MAX parse fine and must not wrap around. */
	if (b <= 0)
		return a;
	return __builtin_add_overflow(a, b, &sum) ? INT64_MAX : sum;
}

/* component-helpers determineEffectiveRequests: during a resize the scheduler counts the larger of
 * spec, allocated and actual requests; once the kubelet called it Infeasible, the spec no more. */
static int64_t effective_request(const struct kube_pod *p, const struct kube_container *c, bool cpu)
{
	int64_t v = RESOURCE_UNSET;

	if (!c->has_actual)
		return request_of(&c->spec, cpu);
	if (p->resize != KUBE_RESIZE_INFEASIBLE)
		v = request_of(&c->spec, cpu);
	if (c->has_allocated)
		v = max64(v, request_of(&c->allocated, cpu));
	return max64(v, request_of(&c->actual, cpu));
}

/* component-helpers AggregateContainerRequests and PodRequests (UseStatusResources: true, the
 * way the scheduler's NodeInfo counts a bound pod). */
int64_t kube_pod_requests(const struct kube_pod *p, bool cpu)
{
	int64_t sum = 0, sidecars = 0, init_max = 0, pod_level, overhead;

	for (size_t i = 0; i < p->n_containers; i++)
		sum = add_saturated(sum, effective_request(p, &p->containers[i], cpu));
	for (size_t i = 0; i < p->n_init_containers; i++) {
		const struct kube_container *c = &p->init_containers[i];
		int64_t use;

		if (c->sidecar) {
			/* Only sidecars' status counts: an ordinary init container is done. */
			int64_t v = effective_request(p, c, cpu);

			sum = add_saturated(sum, v);
			sidecars = add_saturated(sidecars, v);
			use = sidecars;
		} else
			/* While it runs, the sidecars started before it run too. */
			use = add_saturated(sidecars, request_of(&c->spec, cpu));
		init_max = max64(init_max, use);
	}
	sum = max64(sum, init_max);
	pod_level = p->has_resources ? request_of(&p->resources, cpu) : RESOURCE_UNSET;
	if (pod_level >= 0)
		sum = pod_level;
	overhead = cpu ? p->overhead_cpu : p->overhead_mem;
	return add_saturated(sum, overhead);
}
