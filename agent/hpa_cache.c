/* The HorizontalPodAutoscalers of the namespaces of this node's managed pods, listed per namespace
 * and kept for --hpa-refresh (docs/agent.md says why not a watch: the cost at 5000 nodes). */
#include "agent/hpa_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/kube/kube.h"
#include "agent/util/log.h"
#include "agent/util/time.h"

/* A failed LIST is tried again after this, or the refresh interval when that is shorter. */
#define HPA_RETRY_USEC (30 * USEC_PER_SEC)

static struct hpa_namespace *find(const struct hpa_cache *c, const char *namespace)
{
	for (struct hpa_namespace *n = c->namespaces; n; n = n->next)
		if (strcmp(n->name, namespace) == 0)
			return n;
	return NULL;
}

void hpa_cache_free_all(struct hpa_cache *c)
{
	while (c->namespaces) {
		struct hpa_namespace *n = c->namespaces;

		c->namespaces = n->next;
		kube_hpa_free_array(n->hpas, n->n_hpas);
		free(n->name);
		free(n);
	}
}

/* The first answer lets the decisions that waited for it go: an OOM kill, or a startup boost (the
 * container is starting now), does not wait for the next decide tick. */
static void redecide_namespace(struct agent *a, const char *namespace)
{
	for (struct agent_pod *p = a->pods; p; p = p->next) {
		if (strcmp(p->namespace, namespace) != 0)
			continue;
		for (size_t i = 0; i < p->n_containers; i++) {
			struct agent_container *c = &p->containers[i];
			enum agent_trigger trigger;

			if (agent_container_waits(c, &trigger))
				a->redecide(a, c, trigger);
		}
	}
}

static void on_list(const struct kube_result *res, void *userdata)
{
	struct hpa_namespace *n = userdata;
	struct agent *a = n->agent;
	struct kube_hpa *hpas = NULL;
	size_t count = 0, bad = 0;
	char err[KUBE_ERRBUF] = "";
	bool first = !n->answered;
	int r = -EIO;

	n->in_flight = false;
	n->answered = true;
	n->fetched_usec = now_usec(CLOCK_MONOTONIC);
	if (res->outcome == KUBE_OK)
		r = kube_hpa_list_parse(res->object, &hpas, &count, &bad, err);
	if (r < 0) {
		a->hpas.list_failures++;
		/* Retry sooner than the refresh: the cache stays as it was meanwhile. */
		if (a->hpas.refresh_usec > HPA_RETRY_USEC)
			n->fetched_usec -= a->hpas.refresh_usec - HPA_RETRY_USEC;
		if (!n->failing)
			log_warning("Cannot list the HorizontalPodAutoscalers of namespace %s (%s: "
				    "%s): requests there are resized as if none scaled on them",
				    n->name, kube_outcome_to_string(res->outcome),
				    res->outcome == KUBE_OK ? err
				    : res->message	    ? res->message
							    : "-");
		n->failing = true;
	} else {
		if (bad)
			log_warning("Namespace %s: %zu HorizontalPodAutoscaler(s) unreadable, "
				    "ignored: %s",
				    n->name, bad, err);
		if (n->failing || first || count != n->n_hpas)
			log_info("Namespace %s: %zu HorizontalPodAutoscaler(s)", n->name, count);
		kube_hpa_free_array(n->hpas, n->n_hpas);
		n->hpas = hpas;
		n->n_hpas = count;
		n->failing = false;
	}
	if (first)
		redecide_namespace(a, n->name);
}

void hpa_cache_refresh(struct agent *a, const char *namespace)
{
	struct hpa_cache *c = &a->hpas;
	struct hpa_namespace *n;
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	int r;

	if (c->refresh_usec == 0 || !a->kube)
		return;
	n = find(c, namespace);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n || !(n->name = strdup(namespace))) {
			free(n);
			log_oom();
			return;
		}
		n->agent = a;
		n->next = c->namespaces;
		c->namespaces = n;
	} else if (n->in_flight || (n->answered && now - n->fetched_usec < c->refresh_usec))
		return;
	r = kube_list_hpas(a->kube, namespace, on_list, n);
	if (r < 0) {
		log_warning_errno(r, "Cannot list the HorizontalPodAutoscalers of %s: %m",
				  namespace);
		n->answered = true;
		n->fetched_usec = now;
		return;
	}
	n->in_flight = true;
	c->lists++;
}

bool hpa_cache_known(const struct agent *a, const char *namespace)
{
	const struct hpa_namespace *n;

	if (a->hpas.refresh_usec == 0 || !a->kube)
		return true;
	n = find(&a->hpas, namespace);
	return n && n->answered;
}

void hpa_cache_pins(const struct agent *a, const struct kube_pod *pod, const char *container,
		    const char **ret_cpu, const char **ret_memory)
{
	const struct hpa_namespace *n =
		a->hpas.refresh_usec ? find(&a->hpas, pod->namespace) : NULL;

	*ret_cpu = *ret_memory = NULL;
	if (!n)
		return;
	for (size_t i = 0; i < n->n_hpas; i++) {
		const struct kube_hpa *h = &n->hpas[i];

		if (!kube_hpa_targets_pod(h, pod))
			continue;
		if (!*ret_cpu && kube_hpa_pins(h, container, true))
			*ret_cpu = h->name;
		if (!*ret_memory && kube_hpa_pins(h, container, false))
			*ret_memory = h->name;
	}
}
