/* The kubelet's and the API server's arithmetic on a pod's resources, for decide: the QoS class,
 * the request and limit sums (component-helpers PodRequests/PodLimits), the values the kubelet
 * writes into the pod cgroup (ResourceConfigForPod), the room a container's request has to grow
 * (the scheduler's sums), and what input is valid. Pure. */
#include "agent/decide-internal.h"

#include <errno.h>
#include <string.h>

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

int decide_restart_from_string(const char *s)
{
	/* An absent resizePolicy means NotRequired, the API's default. */
	if (!s || s[0] == '\0' || strcmp(s, "NotRequired") == 0)
		return DECIDE_RESTART_NOT_REQUIRED;
	if (strcmp(s, "RestartContainer") == 0)
		return DECIDE_RESTART_CONTAINER;
	return -EINVAL;
}

/* The API server defaults a missing request to the limit; the decision sees what it will see. */
struct resources decide_normalize(struct resources r)
{
	if (r.cpu_request < 0 && r.cpu_limit >= 0)
		r.cpu_request = r.cpu_limit;
	if (r.memory_request < 0 && r.memory_limit >= 0)
		r.memory_request = r.memory_limit;
	return r;
}

static bool pod_level_set(const struct decide_pod *pod)
{
	const struct resources *r = &pod->resources;

	return r->cpu_request >= 0 || r->cpu_limit >= 0 || r->memory_request >= 0 ||
	       r->memory_limit >= 0;
}

/* Container i of the pod (app containers, then init containers, as decide_input.index numbers
 * them), with container `override` replaced by *with. */
static struct resources member_res(const struct decide_pod *pod, size_t i, size_t override,
				   const struct resources *with)
{
	if (i == override && with)
		return decide_normalize(*with);
	return decide_normalize(i < pod->n_containers
					? pod->containers[i].res
					: pod->init_containers[i - pod->n_containers].res);
}

bool decide_index_valid(const struct decide_pod *pod, size_t index)
{
	if (index < pod->n_containers)
		return true;
	return index - pod->n_containers < pod->n_init_containers &&
	       pod->init_containers[index - pod->n_containers].sidecar;
}

struct decide_container decide_target(const struct decide_pod *pod, size_t index)
{
	const struct decide_init_container *ic;

	if (index < pod->n_containers)
		return pod->containers[index];
	ic = &pod->init_containers[index - pod->n_containers];
	return (struct decide_container){ .name = ic->name,
					  .res = ic->res,
					  .cpu_restart = ic->cpu_restart,
					  .memory_restart = ic->memory_restart };
}

int64_t decide_positive(int64_t v)
{
	return v > 0 ? v : 0;
}

/* ComputePodQOS (pkg/apis/core/v1/helper/qos/qos.go): positive requests and limits summed per
 * resource over the app and init containers, or the pod-level resources alone where set. BestEffort
 * when nothing is set; Guaranteed when every container (or the pod level) has both a CPU and a
 * memory limit and the requests equal the limits resource by resource; else Burstable. */
enum qos_class decide_qos_with(const struct decide_pod *pod, size_t override,
			       const struct resources *with)
{
	int64_t req_cpu = 0, req_mem = 0, lim_cpu = 0, lim_mem = 0;
	bool guaranteed = true;

	if (pod_level_set(pod)) {
		const struct resources *r = &pod->resources;

		req_cpu = decide_positive(r->cpu_request);
		req_mem = decide_positive(r->memory_request);
		lim_cpu = decide_positive(r->cpu_limit);
		lim_mem = decide_positive(r->memory_limit);
		if ((lim_cpu || lim_mem) && !(lim_cpu && lim_mem))
			guaranteed = false;
	} else
		for (size_t i = 0; i < pod->n_containers + pod->n_init_containers; i++) {
			struct resources r = member_res(pod, i, override, with);

			req_cpu += decide_positive(r.cpu_request);
			req_mem += decide_positive(r.memory_request);
			lim_cpu += decide_positive(r.cpu_limit);
			lim_mem += decide_positive(r.memory_limit);
			if (r.cpu_limit <= 0 || r.memory_limit <= 0)
				guaranteed = false;
		}
	if (!req_cpu && !req_mem && !lim_cpu && !lim_mem)
		return QOS_BEST_EFFORT;
	return guaranteed && req_cpu == lim_cpu && req_mem == lim_mem ? QOS_GUARANTEED
								      : QOS_BURSTABLE;
}

enum qos_class decide_qos_of(const struct decide_container *containers, size_t n)
{
	struct decide_pod pod = { .containers = containers,
				  .n_containers = n,
				  .resources = { -1, -1, -1, -1 } };

	return decide_qos_with(&pod, SIZE_MAX, NULL);
}

enum qos_class decide_pod_qos(const struct decide_pod *pod)
{
	return decide_qos_with(pod, SIZE_MAX, NULL);
}

int64_t decide_field(const struct resources *r, enum decide_field f)
{
	switch (f) {
	case DECIDE_CPU_REQUEST:
		return r->cpu_request;
	case DECIDE_CPU_LIMIT:
		return r->cpu_limit;
	case DECIDE_MEMORY_REQUEST:
		return r->memory_request;
	case DECIDE_MEMORY_LIMIT:
		return r->memory_limit;
	}
	return -1;
}

/* component-helpers AggregateContainerRequests / AggregateContainerLimits for one field: app
 * containers and native sidecars summed; each ordinary init container counts with the sidecars
 * started before it, and the pod needs the larger of that and the sum. For limits, *ret_declared
 * is what ResourceConfigForPod's ContainerFn finds: false when the value it is handed is zero for
 * some container (an app container's own limit; for a sidecar the sidecars' running sum, for an
 * init container its own plus the sidecars before it). */
static int64_t aggregate(const struct decide_pod *pod, size_t index, const struct resources *with,
			 enum decide_field f, bool *ret_declared)
{
	int64_t sum = 0, sidecars = 0, init_max = 0;
	bool declared = true;

	for (size_t i = 0; i < pod->n_containers; i++) {
		struct resources r = member_res(pod, i, index, with);
		int64_t v = decide_field(&r, f);

		if (v <= 0)
			declared = false;
		sum += decide_positive(v);
	}
	for (size_t i = 0; i < pod->n_init_containers; i++) {
		struct resources r = member_res(pod, pod->n_containers + i, index, with);
		int64_t v = decide_positive(decide_field(&r, f)), use;

		if (pod->init_containers[i].sidecar) {
			sum += v;
			sidecars += v;
			use = sidecars;
		} else
			use = sidecars + v;
		if (use <= 0)
			declared = false;
		init_max = max64(init_max, use);
	}
	if (ret_declared)
		*ret_declared = declared;
	return max64(sum, init_max);
}

/* PodRequests / PodLimits then ResourceConfigForPod for one resource: the aggregate, replaced by
 * the pod-level value where that is set, plus the overhead (added to a limit only when it is not
 * zero); the limit written only when declared (Burstable) or always (Guaranteed). */
static void pod_cgroup_resource(const struct decide_pod *pod, size_t index,
				const struct resources *with, bool cpu, int64_t *ret_request,
				int64_t *ret_limit)
{
	int64_t pod_req = cpu ? pod->resources.cpu_request : pod->resources.memory_request;
	int64_t pod_lim = cpu ? pod->resources.cpu_limit : pod->resources.memory_limit;
	int64_t overhead =
		decide_positive(cpu ? pod->overhead_cpu_millis : pod->overhead_memory_bytes);
	int64_t req, lim;
	bool declared;

	req = aggregate(pod, index, with, cpu ? DECIDE_CPU_REQUEST : DECIDE_MEMORY_REQUEST, NULL);
	lim = aggregate(pod, index, with, cpu ? DECIDE_CPU_LIMIT : DECIDE_MEMORY_LIMIT, &declared);
	if (pod_req >= 0)
		req = pod_req;
	if (pod_lim >= 0)
		lim = pod_lim;
	if (pod_lim > 0)
		declared = true;
	req += overhead;
	if (lim > 0)
		lim += overhead;
	if (pod->qos == QOS_BEST_EFFORT || lim <= 0 || (pod->qos == QOS_BURSTABLE && !declared))
		lim = -1;
	*ret_request = pod->qos == QOS_BEST_EFFORT ? 0 : req;
	*ret_limit = lim;
}

int decide_pod_cgroup(const struct decide_pod *pod, size_t index, const struct resources *with,
		      struct decide_pod_cgroup *ret)
{
	int64_t unused;

	if (!pod || !ret || !decide_valid_pod(pod) || (with && !decide_index_valid(pod, index)))
		return -EINVAL;
	*ret = (struct decide_pod_cgroup){ 0 };
	pod_cgroup_resource(pod, index, with, true, &ret->cpu_weight_millis, &ret->cpu_max_millis);
	pod_cgroup_resource(pod, index, with, false, &unused, &ret->memory_max_bytes);
	return 0;
}

bool decide_valid_value(int64_t v)
{
	return v >= -1 && v <= DECIDE_VALUE_MAX;
}

/* The API server refuses a request above its limit, so such input is a caller's bug. */
bool decide_valid_resources(const struct resources *r)
{
	return decide_valid_value(r->cpu_request) && decide_valid_value(r->cpu_limit) &&
	       decide_valid_value(r->memory_request) && decide_valid_value(r->memory_limit) &&
	       (r->cpu_limit < 0 || r->cpu_request <= r->cpu_limit) &&
	       (r->memory_limit < 0 || r->memory_request <= r->memory_limit);
}

bool decide_valid_pod(const struct decide_pod *pod)
{
	if (!pod->containers || pod->n_containers == 0 ||
	    pod->n_containers > DECIDE_MAX_CONTAINERS ||
	    pod->n_init_containers > DECIDE_MAX_CONTAINERS - pod->n_containers ||
	    (pod->n_init_containers > 0 && !pod->init_containers) ||
	    (pod->qos != QOS_BEST_EFFORT && pod->qos != QOS_BURSTABLE &&
	     pod->qos != QOS_GUARANTEED) ||
	    !decide_valid_value(pod->overhead_cpu_millis) ||
	    !decide_valid_value(pod->overhead_memory_bytes) ||
	    !decide_valid_resources(&pod->resources))
		return false;
	for (size_t i = 0; i < pod->n_containers; i++)
		if (!decide_valid_resources(&pod->containers[i].res))
			return false;
	for (size_t i = 0; i < pod->n_init_containers; i++)
		if (!decide_valid_resources(&pod->init_containers[i].res))
			return false;
	return true;
}

int64_t decide_ratio_limit(int64_t limit, int64_t new_request, int64_t old_request)
{
	unsigned __int128 v = (unsigned __int128)limit * (unsigned __int128)new_request;

	if (limit <= 0 || new_request <= 0 || old_request <= 0)
		return limit;
	v = (v + (unsigned __int128)old_request - 1) / (unsigned __int128)old_request;
	return v > (unsigned __int128)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* How far the request of container `index` may grow, as p->room / p->room_kind. The pod's
 * requests as the scheduler counts them (PodRequests) are max(S + r, I) + O: S the other app
 * containers' and the sidecars' requests, r this one's, I the init containers' max (each with the
 * sidecars before it), O the overhead. When the container is a sidecar, the init containers after
 * it run beside it: their part of I is r + A, A the largest of them with the other sidecars before
 * it. With a pod-level request P they are P + O whatever r is, and the API server's bound is
 * max(S + r, I) ≤ P (validatePodResourceConsistency); otherwise they must fit the node's room F:
 * r ≤ F - O - max(S, A), and none at all when the init containers before it need more than F - O. */
void decide_plan_room(struct plan *p, const struct decide_input *in, bool cpu)
{
	const struct decide_pod *pod = &in->pod;
	int64_t s = 0, sidecars = 0, init_max = 0, after_max = 0, base;
	int64_t pod_req = cpu ? pod->resources.cpu_request : pod->resources.memory_request;
	int64_t free = cpu ? in->node.cpu_free_millis : in->node.memory_free_bytes;
	int64_t overhead =
		decide_positive(cpu ? pod->overhead_cpu_millis : pod->overhead_memory_bytes);
	enum decide_field f = cpu ? DECIDE_CPU_REQUEST : DECIDE_MEMORY_REQUEST;
	bool after = false; /* past the sidecar decided on */

	for (size_t i = 0; i < pod->n_containers; i++) {
		struct resources r = decide_normalize(pod->containers[i].res);

		if (i != in->index)
			s += decide_positive(decide_field(&r, f));
	}
	for (size_t i = 0; i < pod->n_init_containers; i++) {
		struct resources r = decide_normalize(pod->init_containers[i].res);
		int64_t v = decide_positive(decide_field(&r, f));

		if (pod->n_containers + i == in->index)
			after = true;
		else if (pod->init_containers[i].sidecar) {
			s += v;
			sidecars += v;
		} else if (after)
			after_max = max64(after_max, sidecars + v);
		else
			init_max = max64(init_max, sidecars + v);
	}
	base = max64(s, after_max);
	if (pod_req >= 0) {
		p->room_kind = ROOM_POD_LEVEL;
		p->room = init_max <= pod_req ? pod_req - base : -1;
	} else if (free >= 0) {
		p->room_kind = ROOM_NODE;
		p->room = init_max + overhead <= free ? free - overhead - base : -1;
	} else
		p->room_kind = ROOM_UNKNOWN;
}
