/* Turning the API's pod model (agent/kube) into decide's, for one view of its resources. */
#include "agent/pod_model.h"

#include <errno.h>
#include <stdlib.h>

#include "agent/kube/kube.h"

static struct resources resources_of(const struct kube_container *c, enum pod_model_view view)
{
	const struct resources *k =
		view == POD_MODEL_ACTUAL && c->has_actual ? &c->actual : &c->spec;

	return (struct resources){ .cpu_request = k->cpu_request,
				   .cpu_limit = k->cpu_limit,
				   .memory_request = k->memory_request,
				   .memory_limit = k->memory_limit };
}

static enum decide_restart restart_of(enum kube_restart_policy p)
{
	return p == KUBE_RESIZE_RESTART_CONTAINER ? DECIDE_RESTART_CONTAINER
						  : DECIDE_RESTART_NOT_REQUIRED;
}

int pod_model_build(const struct kube_pod *k, enum pod_model_view view, struct pod_model *ret)
{
	struct pod_model m = { 0 };

	if (k->n_containers == 0)
		return -EINVAL;
	m.containers = calloc(k->n_containers, sizeof(*m.containers));
	m.init_containers =
		calloc(k->n_init_containers ? k->n_init_containers : 1, sizeof(*m.init_containers));
	if (!m.containers || !m.init_containers) {
		pod_model_done(&m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k->n_containers; i++) {
		const struct kube_container *c = &k->containers[i];

		m.containers[i] = (struct decide_container){
			.name = c->name,
			.res = resources_of(c, view),
			.cpu_restart = restart_of(c->cpu_policy),
			.memory_restart = restart_of(c->mem_policy),
		};
	}
	for (size_t i = 0; i < k->n_init_containers; i++)
		m.init_containers[i] = (struct decide_init_container){
			.name = k->init_containers[i].name,
			.res = resources_of(&k->init_containers[i], view),
			.cpu_restart = restart_of(k->init_containers[i].cpu_policy),
			.memory_restart = restart_of(k->init_containers[i].mem_policy),
			.sidecar = k->init_containers[i].sidecar,
		};
	m.pod = (struct decide_pod){
		.containers = m.containers,
		.n_containers = k->n_containers,
		.init_containers = m.init_containers,
		.n_init_containers = k->n_init_containers,
		.overhead_cpu_millis = k->overhead_cpu,
		.overhead_memory_bytes = k->overhead_mem,
		.resources = { -1, -1, -1, -1 },
	};
	if (k->has_resources)
		m.pod.resources = (struct resources){ .cpu_request = k->resources.cpu_request,
						      .cpu_limit = k->resources.cpu_limit,
						      .memory_request = k->resources.memory_request,
						      .memory_limit = k->resources.memory_limit };
	switch (k->qos) {
	case QOS_GUARANTEED:
		m.pod.qos = QOS_GUARANTEED;
		break;
	case QOS_BURSTABLE:
		m.pod.qos = QOS_BURSTABLE;
		break;
	case QOS_BEST_EFFORT:
		m.pod.qos = QOS_BEST_EFFORT;
		break;
	default:
		m.pod.qos = decide_pod_qos(&m.pod);
		break;
	}
	*ret = m;
	return 0;
}

void pod_model_done(struct pod_model *m)
{
	if (!m)
		return;
	free(m->containers);
	free(m->init_containers);
	*m = (struct pod_model){ 0 };
}
