/* HorizontalPodAutoscalers (autoscaling/v2): which requests an HPA divides by, and whether it scales
 * a given pod's owner, read as the HPA controller reads them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"

static void hpa_done(void *elem)
{
	struct kube_hpa *h = elem;

	for (size_t i = 0; i < h->n_pins; i++)
		free(h->pins[i].container);
	free(h->pins);
	free(h->name);
	free(h->target_api_version);
	free(h->target_kind);
	free(h->target_name);
	*h = (struct kube_hpa){ 0 };
}

void kube_hpa_free_array(struct kube_hpa *hpas, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hpa_done(&hpas[i]);
	free(hpas);
}

static int add_pin(struct kube_hpa *h, bool cpu, const char *container)
{
	struct kube_hpa_pin *p = realloc(h->pins, (h->n_pins + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	h->pins = p;
	p[h->n_pins] = (struct kube_hpa_pin){ .cpu = cpu };
	if (container && !(p[h->n_pins].container = strdup(container)))
		return -ENOMEM;
	h->n_pins++;
	return 0;
}

/* One spec.metrics[] item. The controller (pkg/controller/podautoscaler/horizontal.go
 * computeStatusForResourceMetricGeneric) uses the raw usage when target.averageValue is set and
 * the usage over the pods' requests (replica_calculator.go GetResourceReplicas,
 * calculatePodRequests: every container's for a Resource metric, the named one's for a
 * ContainerResource metric) otherwise. Pods, Object and External metrics read no request. */
static int parse_metric(const cJSON *m, const char *path, struct kube_hpa *h, char *errbuf)
{
	const cJSON *src, *target, *avg;
	const char *type, *name, *container = NULL, *target_type;
	bool container_metric;
	int r;

	r = kube_json_string(m, "type", path, &type, errbuf);
	if (r < 0)
		return r;
	if (!type)
		return kube_err(errbuf, "%s.type: missing", path);
	container_metric = strcmp(type, "ContainerResource") == 0;
	if (!container_metric && strcmp(type, "Resource") != 0)
		return 0;
	r = kube_json_object(m, container_metric ? "containerResource" : "resource", path, &src,
			     errbuf);
	if (r < 0)
		return r;
	if (!src)
		return kube_err(errbuf, "%s.%s: missing", path,
				container_metric ? "containerResource" : "resource");
	r = kube_json_string(src, "name", path, &name, errbuf);
	if (r < 0)
		return r;
	if (!name)
		return kube_err(errbuf, "%s: resource name missing", path);
	if (container_metric) {
		r = kube_json_string(src, "container", path, &container, errbuf);
		if (r < 0)
			return r;
		if (!container || !*container)
			return kube_err(errbuf, "%s.containerResource.container: missing", path);
	}
	r = kube_json_object(src, "target", path, &target, errbuf);
	if (r < 0)
		return r;
	if (!target)
		return kube_err(errbuf, "%s: target missing", path);
	r = kube_json_string(target, "type", path, &target_type, errbuf);
	if (r < 0)
		return r;
	avg = cJSON_GetObjectItemCaseSensitive(target, "averageValue");
	if ((avg && !cJSON_IsNull(avg)) || !target_type || strcmp(target_type, "Utilization") != 0)
		return 0;
	if (strcmp(name, "cpu") != 0 && strcmp(name, "memory") != 0)
		return 0;
	return add_pin(h, strcmp(name, "cpu") == 0, container);
}

static int parse_hpa(const cJSON *o, void *elem, char *errbuf)
{
	struct kube_hpa *h = elem;
	const cJSON *meta, *spec, *ref, *metrics, *m;
	const char *name, *av, *kind, *target;
	char path[128];
	size_t i = 0;
	int r;

	if (!cJSON_IsObject(o))
		return kube_err(errbuf, "hpa: not an object");
	r = kube_json_object(o, "metadata", "hpa", &meta, errbuf);
	if (r < 0)
		return r;
	if (!meta)
		return kube_err(errbuf, "hpa.metadata: missing");
	r = kube_json_string(meta, "name", "hpa.metadata", &name, errbuf);
	if (r < 0)
		return r;
	if (!name || !*name)
		return kube_err(errbuf, "hpa.metadata.name: missing");
	r = kube_json_object(o, "spec", "hpa", &spec, errbuf);
	if (r < 0)
		return r;
	if (!spec)
		return kube_err(errbuf, "hpa %.64s: spec: missing", name);
	r = kube_json_object(spec, "scaleTargetRef", "hpa.spec", &ref, errbuf);
	if (r < 0)
		return r;
	if (!ref)
		return kube_err(errbuf, "hpa %.64s: spec.scaleTargetRef: missing", name);
	if (kube_json_string(ref, "apiVersion", "hpa.spec.scaleTargetRef", &av, errbuf) < 0 ||
	    kube_json_string(ref, "kind", "hpa.spec.scaleTargetRef", &kind, errbuf) < 0 ||
	    kube_json_string(ref, "name", "hpa.spec.scaleTargetRef", &target, errbuf) < 0)
		return -EINVAL;
	if (!kind || !*kind || !target || !*target)
		return kube_err(errbuf, "hpa %.64s: spec.scaleTargetRef kind or name missing",
				name);
	r = kube_json_array(spec, "metrics", "hpa.spec", &metrics, errbuf);
	if (r < 0)
		return r;
	h->name = strdup(name);
	h->target_api_version = strdup(av ? av : "");
	h->target_kind = strdup(kind);
	h->target_name = strdup(target);
	if (!h->name || !h->target_api_version || !h->target_kind || !h->target_name)
		return -ENOMEM;
	/* No metrics: the API server's default (autoscaling/v2 SetDefaults_HorizontalPodAutoscaler)
	 * is CPU at 80% utilization; a stored object has it, an object from elsewhere may not. */
	if (cJSON_GetArraySize(metrics) == 0)
		return add_pin(h, true, NULL);
	cJSON_ArrayForEach (m, metrics) {
		snprintf(path, sizeof(path), "hpa %.64s: spec.metrics[%zu]", name, i++);
		if (!cJSON_IsObject(m))
			return kube_err(errbuf, "%s: not an object", path);
		r = parse_metric(m, path, h, errbuf);
		if (r < 0)
			return r;
	}
	return 0;
}

int kube_hpa_list_parse(const cJSON *list, struct kube_hpa **ret, size_t *ret_n, size_t *ret_n_bad,
			char *errbuf)
{
	void *hpas;
	int r;

	r = kube_list_parse(list, "HorizontalPodAutoscalerList", "hpa list", sizeof(**ret),
			    parse_hpa, hpa_done, &hpas, ret_n, ret_n_bad, errbuf);
	if (r < 0)
		return r;
	*ret = hpas;
	return 0;
}

/* The group of an apiVersion: "apps/v1" → "apps", "v1" → "". */
static bool same_group(const char *a, const char *b)
{
	const char *sa = strchr(a, '/'), *sb = strchr(b, '/');
	size_t la = sa ? (size_t)(sa - a) : 0, lb = sb ? (size_t)(sb - b) : 0;

	return la == lb && strncmp(a, b, la) == 0;
}

bool kube_hpa_targets_pod(const struct kube_hpa *h, const struct kube_pod *pod)
{
	const struct kube_owner *o = &pod->owner;
	const char *hash;
	size_t len;

	if (!pod->has_owner || !o->kind || !o->name || !o->api_version)
		return false;
	if (strcmp(h->target_kind, o->kind) == 0 && strcmp(h->target_name, o->name) == 0 &&
	    same_group(h->target_api_version, o->api_version))
		return true;
	/* The Deployment controller names its ReplicaSets <deployment>-<pod-template-hash> and
	 * labels their pods with the hash (pkg/controller/deployment/sync.go getNewReplicaSet). */
	if (strcmp(h->target_kind, "Deployment") != 0 || strcmp(o->kind, "ReplicaSet") != 0 ||
	    !same_group(h->target_api_version, "apps/v1") || !same_group(o->api_version, "apps/v1"))
		return false;
	hash = kube_pod_label(pod, "pod-template-hash");
	if (!hash || !*hash)
		return false;
	len = strlen(h->target_name);
	return strncmp(o->name, h->target_name, len) == 0 && o->name[len] == '-' &&
	       strcmp(o->name + len + 1, hash) == 0;
}

bool kube_hpa_pins(const struct kube_hpa *h, const char *container, bool cpu)
{
	for (size_t i = 0; i < h->n_pins; i++)
		if (h->pins[i].cpu == cpu &&
		    (!h->pins[i].container || strcmp(h->pins[i].container, container) == 0))
			return true;
	return false;
}
