/* The shared workload history at scale: N simulated nodes, each running the agent's own
 * history_sync (its WorkloadHistory PATCH/POST and LIST through its own kube client) on one sd-event
 * loop against a real kube-apiserver + etcd, with the contribution interval compressed; prints BENCH
 * lines (tests/bench/bench_history.sh starts the control plane, docs/history-scale.md reads them). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/history.h"
#include "agent/history_sync.h"
#include "agent/kube/kube.h"
#include "agent/recommender/recommender.h"
#include "agent/shared_history.h"
#include "agent/util/log.h"
#include "agent/util/time.h"

#define MAX_PER_NODE 64
#define DAY_USEC (24 * 3600 * USEC_PER_SEC)

struct options {
	const char *kubeconfig;
	unsigned nodes, containers, replicas, daemonsets, namespaces, fresh;
	double interval_sec, measure_intervals;
	const char *label;	     /* the BENCH names' prefix, e.g. "history-n200" */
	const char *baseline_file;   /* "name value" lines of an earlier run (same unit) */
	int apiserver_pid, etcd_pid; /* CPU time read from /proc, 0 = not measured */
	unsigned sequential;	     /* PATCH + LIST pairs one at a time after the window */
};

struct workload {
	char namespace[32], owner_name[64], hash[16];
	bool daemonset;
	double cores;	   /* the workload's typical CPU use */
	int64_t mem_bytes; /* and memory */
};

/* Latencies (or sizes) of one kind of request, in the measurement window. */
struct series {
	double *v;
	size_t n, cap;
};

struct sim_node {
	struct agent agent; /* what history_sync reads: name, client, histories, pods */
	struct agent_pod pod;
	struct agent_container containers[MAX_PER_NODE];
	size_t n_containers;
	unsigned workloads[MAX_PER_NODE];
	bool fresh;
	uint64_t started_usec; /* CLOCK_MONOTONIC, a fresh node's start */
	sd_event_source *start;
};

static struct options opt = {
	.nodes = 50,
	.containers = 30,
	.replicas = 10,
	.daemonsets = 3,
	.namespaces = 20,
	.fresh = 20,
	.interval_sec = 10,
	.measure_intervals = 0.5,
	.label = "history",
	.sequential = 200,
};
static struct workload *pool;
static unsigned n_pool;
static struct sim_node *nodes;
static unsigned n_nodes; /* seeded ones first, then the fresh ones */
static bool measuring;
static sd_event_source *sampler;
static uint64_t window_start_usec, window_usec;
static struct series patch_lat, create_lat, list_lat, list_bytes, fresh_ready;
static uint64_t n_patch, n_create, n_list, n_conflict, n_error, n_not_found, n_throttled;
static uint64_t fresh_merged, fresh_unmerged;
/* A running container's cgroup as history_sync checks it: found (never dereferenced here). */
static char running_cgroup;
static char container_name[] = "app";

static void series_add(struct series *s, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->v = realloc(s->v, s->cap * sizeof(double));
		if (!s->v)
			abort();
	}
	s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile; NAN when empty. */
static double percentile(struct series *s, double p)
{
	size_t i;

	if (!s->n)
		return NAN;
	qsort(s->v, s->n, sizeof(double), cmp_double);
	i = (size_t)ceil(p / 100.0 * (double)s->n);
	return s->v[i ? i - 1 : 0];
}

static double mean(const struct series *s)
{
	double sum = 0;

	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	return s->n ? sum / (double)s->n : NAN;
}

static void on_request(enum kube_call call, long code, uint64_t usec, size_t bytes, void *userdata)
{
	const struct sim_node *n = userdata;

	if (!measuring)
		return;
	if (code == 409)
		n_conflict++;
	if (code == 429)
		n_throttled++;
	switch (call) {
	case KUBE_CALL_PATCH_HISTORY:
		if (code == 404) { /* a first write: the create follows */
			n_not_found++;
			return;
		}
		n_patch++;
		if (code == 200)
			series_add(&patch_lat, (double)usec / 1000.0);
		else
			n_error++;
		return;
	case KUBE_CALL_CREATE_HISTORY:
		n_create++;
		if (code == 201)
			series_add(&create_lat, (double)usec / 1000.0);
		else
			n_error++;
		return;
	case KUBE_CALL_LIST_HISTORY:
		if (n->fresh)
			return; /* counted by the time to a recommendation */
		n_list++;
		if (code == 200) {
			series_add(&list_lat, (double)usec / 1000.0);
			series_add(&list_bytes, (double)bytes);
		} else
			n_error++;
		return;
	default:
		if (code == 0 || code >= 400)
			n_error++;
		return;
	}
}

/* Deterministic noise in [0, 1). */
static double noise(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*state >> 11) / (double)(1ULL << 53);
}

/* The pool: daemonsets on every node, Deployments of `replicas` pods on average, spread over the
 * namespaces; each runs one container ("app") with its own level of CPU and memory use. */
static void make_pool(void)
{
	unsigned deployments = opt.nodes * (opt.containers - opt.daemonsets) / opt.replicas;
	uint64_t rng = 42;

	n_pool = opt.daemonsets + (deployments ? deployments : 1);
	pool = calloc(n_pool, sizeof(*pool));
	if (!pool)
		abort();
	for (unsigned i = 0; i < n_pool; i++) {
		struct workload *w = &pool[i];

		w->daemonset = i < opt.daemonsets;
		snprintf(w->namespace, sizeof(w->namespace), "bench-%02u", i % opt.namespaces);
		if (w->daemonset)
			snprintf(w->owner_name, sizeof(w->owner_name), "node-agent-%u", i);
		else {
			snprintf(w->hash, sizeof(w->hash), "%08x", (unsigned)(noise(&rng) * 4e9));
			snprintf(w->owner_name, sizeof(w->owner_name), "service-%04u-%s", i,
				 w->hash);
		}
		w->cores = 0.02 + 2.0 * noise(&rng) * noise(&rng);
		w->mem_bytes = (int64_t)((32 + 2048 * noise(&rng) * noise(&rng)) * 1048576);
	}
}

static void fake_pod(const struct workload *w, const char *node, struct kube_pod *pod,
		     struct kube_kv *label)
{
	static char name[128], api_version[] = "apps/v1", daemonset[] = "DaemonSet",
			       replicaset[] = "ReplicaSet", hash_label[] = "pod-template-hash";

	snprintf(name, sizeof(name), "%s-%s", w->owner_name, node);
	*pod = (struct kube_pod){ .namespace = (char *)w->namespace,
				  .name = name,
				  .node_name = (char *)node,
				  .has_owner = true };
	pod->owner.api_version = api_version;
	pod->owner.name = (char *)w->owner_name;
	if (w->daemonset)
		pod->owner.kind = daemonset;
	else {
		pod->owner.kind = replicaset;
		*label = (struct kube_kv){ .key = hash_label, .value = (char *)w->hash };
		pod->labels = label;
		pod->n_labels = 1;
	}
}

/* Two days of the container's use on this node, fed the way the agent does (VPA's
 * ContainerState: a CPU sample a minute, memory peaks per 24 h). */
static void seed_history(struct agent_container *c, const struct workload *w, uint64_t *rng)
{
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
	double level = w->cores * (0.7 + 0.6 * noise(rng));

	for (int64_t t = now - 2 * DAY_USEC; t <= now; t += 60 * USEC_PER_SEC) {
		double daily = 1.0 + 0.5 * sin((double)t / (double)DAY_USEC * 2 * M_PI);

		(void)rec_container_add_cpu_sample(
			&c->rec, t, (int64_t)(1000 * level * daily * (0.5 + noise(rng))));
		(void)rec_container_add_memory_sample(
			&c->rec, t, (int64_t)((double)w->mem_bytes * (0.8 + 0.4 * noise(rng))));
	}
	c->history->first_reading_usec = now - 2 * DAY_USEC;
	c->history->shared_dirty = true;
}

static void on_redecide(struct agent *a, struct agent_container *c, enum agent_trigger trigger);

static int node_init(struct sim_node *n, unsigned index, bool fresh, const struct kube_config *cfg,
		     sd_event *event, uint64_t *rng)
{
	struct agent *a = &n->agent;
	struct kube_options ko = { .component = "snug-bench" };
	char name[64];
	int r;

	snprintf(name, sizeof(name), "%s-%04u", fresh ? "fresh-node" : "bench-node", index);
	agent_config_init(&a->config);
	a->config.node_name = strdup(name);
	a->config.history_interval_usec = (uint64_t)(opt.interval_sec * USEC_PER_SEC);
	a->event = event;
	a->redecide = on_redecide;
	a->histories.tunables = &a->config.tunables;
	/* The Node's uid, as node_room reads it: the entry carries its ownerReference. */
	if (asprintf(&a->node_room.uid, "00000000-0000-4000-8000-%012u",
		     index + (fresh ? 500000 : 0)) < 0)
		return -ENOMEM;
	ko.node_name = a->config.node_name;
	r = kube_client_new(event, cfg, &ko, &a->kube);
	if (r < 0)
		return r;
	kube_client_set_observer(a->kube, on_request, n);
	n->fresh = fresh;
	n->pod = (struct agent_pod){ .agent = a, .containers = n->containers };
	a->pods = &n->pod;
	/* The daemonsets, then distinct Deployments drawn at random from the pool. */
	for (unsigned i = 0; i < opt.daemonsets && n->n_containers < opt.containers; i++)
		n->workloads[n->n_containers++] = i;
	while (n->n_containers < opt.containers && n->n_containers < n_pool) {
		unsigned w = opt.daemonsets + (unsigned)(noise(rng) * (n_pool - opt.daemonsets));
		bool dup = false;

		for (size_t i = 0; i < n->n_containers; i++)
			dup |= n->workloads[i] == w;
		if (!dup)
			n->workloads[n->n_containers++] = w;
	}
	for (size_t i = 0; i < n->n_containers; i++) {
		struct agent_container *c = &n->containers[i];
		struct kube_pod pod;
		struct kube_kv label;

		fake_pod(&pool[n->workloads[i]], name, &pod, &label);
		*c = (struct agent_container){ .pod = &n->pod, .name = container_name };
		r = history_of(&a->histories, &pod, "app", &c->history);
		if (r < 0)
			return r;
		rec_container_init(&c->rec, c->history->aggregate);
		if (!fresh) {
			c->cg = (struct cg_container *)&running_cgroup;
			seed_history(c, &pool[n->workloads[i]], rng);
		}
	}
	n->pod.n_containers = n->n_containers;
	return 0;
}

/* The node's agent starts: its histories (as from checkpoints) are followed and their workloads
 * listed at once, then written and read every interval by history_sync's own timer. */
static int on_node_start(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sim_node *n = userdata;
	struct agent *a = &n->agent;
	int r;

	n->started_usec = now_usec(CLOCK_MONOTONIC);
	r = history_sync_start(a);
	if (r < 0)
		return r;
	/* The agent's history timer may be late by up to 1 s, which sd-event uses to wake once for
	 * timers due close together: harmless at 10 minutes, but with the interval compressed it
	 * would batch the simulated nodes into bursts that unsynchronised nodes never make. */
	r = sd_event_source_set_time_accuracy(a->shared.timer, USEC_PER_MSEC);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n->n_containers; i++) {
		struct kube_pod pod;
		struct kube_kv label;

		fake_pod(&pool[n->workloads[i]], a->config.node_name, &pod, &label);
		if (n->fresh)
			n->containers[i].cg = (struct cg_container *)&running_cgroup;
		history_sync_track(a, n->containers[i].history, &pod);
	}
	return 0;
}

/* history_sync hands a container back for a decision once its workload's first LIST answered: on
 * a fresh node that is the moment the merged recommendation is there (or not). */
static void on_redecide(struct agent *a, struct agent_container *c, enum agent_trigger trigger)
{
	struct sim_node *n = (struct sim_node *)a;
	struct rec_recommendation rec;
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);

	if (!n->fresh)
		return;
	if (c->history->remote && rec_recommend(history_view(c->history), 1, &rec) == 0 &&
	    rec.target.cpu_millicores > 0 && rec.target.memory_bytes > 0 &&
	    history_long_enough(c->history, a->config.min_history_usec, now)) {
		series_add(&fresh_ready,
			   (double)(now_usec(CLOCK_MONOTONIC) - n->started_usec) / 1000.0);
		fresh_merged++;
	} else
		fresh_unmerged++;
}

/* A running container keeps adding samples: its history is to be written every interval. */
static int on_sample(sd_event_source *s, uint64_t usec, void *userdata)
{
	uint64_t rng = usec;
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);

	for (unsigned i = 0; i < n_nodes; i++) {
		struct sim_node *n = &nodes[i];

		if (n->fresh)
			continue;
		for (size_t k = 0; k < n->n_containers; k++) {
			struct agent_container *c = &n->containers[k];

			(void)rec_container_add_cpu_sample(
				&c->rec, now,
				(int64_t)(1000 * pool[n->workloads[k]].cores *
					  (0.5 + noise(&rng))));
			c->history->shared_dirty = true;
		}
	}
	return sd_event_source_set_time_relative(s,
						 (uint64_t)(opt.interval_sec * USEC_PER_SEC) / 2);
}

struct cpu_mark {
	double apiserver, etcd, self; /* seconds of CPU */
};

static double proc_cpu_sec(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	FILE *f;

	if (pid <= 0)
		return NAN;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return NAN;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* After the command's closing parenthesis: state is field 3, utime 14, stime 15. */
	p = p ? strrchr(buf, ')') : NULL;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			 &stime) != 2)
		return NAN;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static struct cpu_mark cpu_now(void)
{
	return (struct cpu_mark){ proc_cpu_sec(opt.apiserver_pid), proc_cpu_sec(opt.etcd_pid),
				  proc_cpu_sec(getpid()) };
}

static struct cpu_mark cpu_at_start;
static unsigned drain_checks;
static const struct kube_config *seq_config;

static int on_window_end(sd_event_source *s, uint64_t usec, void *userdata);

/* The window opens once every seeded node runs (an interval after the first started): from then on
 * each node writes and lists once per interval, at its own phase; the fresh nodes start in the
 * window's first half. */
static int on_window_check(sd_event_source *s, uint64_t usec, void *userdata)
{
	sd_event *event = sd_event_source_get_event(s);
	bool all_started = true;
	int r;

	for (unsigned i = 0; i < opt.nodes; i++)
		all_started &= nodes[i].started_usec != 0;
	if (!all_started)
		return sd_event_source_set_time_relative(s, 200 * USEC_PER_MSEC);
	(void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
	measuring = true;
	window_start_usec = now_usec(CLOCK_MONOTONIC);
	cpu_at_start = cpu_now();
	for (unsigned i = opt.nodes; i < n_nodes; i++) {
		r = sd_event_add_time_relative(event, &nodes[i].start, CLOCK_MONOTONIC,
					       (i - opt.nodes + 1) * window_usec / 2 /
						       (opt.fresh + 1),
					       0, on_node_start, &nodes[i]);
		if (r < 0)
			return r;
	}
	return sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, window_usec, 0,
					  on_window_end, NULL);
}

static double baseline_of(const char *name)
{
	char line[256], key[200];
	double v;
	FILE *f = opt.baseline_file ? fopen(opt.baseline_file, "re") : NULL;

	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%199s %lf", key, &v) == 2 && strcmp(key, name) == 0) {
			fclose(f);
			return v;
		}
	fclose(f);
	return NAN;
}

/* One BENCH line; `what` is the name after the label, which an earlier run with another label
 * (its baseline file) is looked up by. */
static void bench(const char *what, double value, const char *unit, bool compare)
{
	double base = compare ? baseline_of(what) : NAN;

	if (isnan(value))
		return;
	printf("BENCH name=%s-%s value=%.6g unit=%s", opt.label, what, value, unit);
	if (!isnan(base) && value > 0)
		printf(" baseline=%.6g ratio=%.3g", base, base / value);
	printf("\n");
}

/* The same requests one at a time from one client, which then keeps its one connection: the API
 * server's cost of a PATCH and a LIST without a TLS handshake each, the baseline of the agent's
 * burst of parallel requests (each interval opens new connections, see docs/history-scale.md). */
static struct {
	struct kube_client *client;
	struct sim_node *node;
	unsigned done, total;
	struct cpu_mark start, middle;
	uint64_t start_usec, patch_usec, list_usec;
	unsigned patches, lists, failures;
} seq;
static double window_api_cpu_per_request;

static void seq_next(void);

static void on_seq_done(const struct kube_result *res, void *userdata)
{
	if (res->outcome != KUBE_OK)
		seq.failures++;
	seq.done++;
	seq_next();
}

static void on_seq_request(enum kube_call call, long code, uint64_t usec, size_t bytes,
			   void *userdata)
{
	if (call == KUBE_CALL_PATCH_HISTORY) {
		seq.patches++;
		seq.patch_usec += usec;
	} else if (call == KUBE_CALL_LIST_HISTORY) {
		seq.lists++;
		seq.list_usec += usec;
	}
}

static void seq_report(void)
{
	struct cpu_mark end = cpu_now();
	double secs = (double)(now_usec(CLOCK_MONOTONIC) - seq.start_usec) / 1e6;
	double api = end.apiserver - seq.start.apiserver, etcd = end.etcd - seq.start.etcd;
	double patch_cpu =
		seq.middle.apiserver - seq.start.apiserver + seq.middle.etcd - seq.start.etcd;
	double list_cpu = end.apiserver - seq.middle.apiserver + end.etcd - seq.middle.etcd;
	double n = (double)(seq.patches + seq.lists), reused = (api + etcd) * 1e6 / n;

	printf("history-scale %s: one at a time on one connection: %u patches, %u lists, %u failed "
	       "in %.1f s; CPU s: apiserver %.2f etcd %.2f (patches %.2f, lists %.2f)\n",
	       opt.label, seq.patches, seq.lists, seq.failures, secs, api, etcd, patch_cpu,
	       list_cpu);
	if (!seq.patches || !seq.lists)
		return;
	bench("sequential-patch-mean", (double)seq.patch_usec / seq.patches / 1000.0, "ms", true);
	bench("sequential-list-mean", (double)seq.list_usec / seq.lists / 1000.0, "ms", true);
	fflush(stdout);
	if (isnan(reused))
		return; /* no process to read the CPU time of */
	bench("sequential-patch-api-cpu", patch_cpu * 1e6 / seq.patches, "us", true);
	bench("sequential-list-api-cpu", list_cpu * 1e6 / seq.lists, "us", true);
	/* The agent's bursts of parallel requests, each on a new connection, against one reused
	 * connection: below 1, what the handshakes and the concurrency cost the API server. */
	if (!isnan(window_api_cpu_per_request))
		printf("BENCH name=%s-api-cpu-per-request value=%.6g unit=us baseline=%.6g "
		       "ratio=%.3g\n",
		       opt.label, window_api_cpu_per_request, reused,
		       reused / window_api_cpu_per_request);
	fflush(stdout);
}

static void seq_next(void)
{
	struct sim_node *n = seq.node;
	struct agent_history *h;
	struct history_workload *w;
	char name[SHARED_NAME_SIZE];
	bool patch = seq.done < opt.sequential;
	unsigned i = patch ? seq.done : seq.done - opt.sequential;
	int r;

	if (seq.done == opt.sequential)
		seq.middle = cpu_now();
	if (seq.done >= seq.total) {
		seq_report();
		(void)sd_event_exit(n->agent.event, 0);
		return;
	}
	h = n->containers[i % n->n_containers].history;
	for (w = n->agent.shared.workloads; w; w = w->next)
		if (strcmp(w->namespace, h->id.namespace) == 0 &&
		    strcmp(w->name, h->id.owner_name) == 0)
			break;
	if (!w) {
		seq.failures++;
		seq.done++;
		seq_next();
		return;
	}
	if (patch) {
		struct shared_container sc = { h->id.container, h->aggregate };
		struct shared_entry e = { .namespace = w->namespace,
					  .node_name = n->agent.config.node_name,
					  .node_uid = n->agent.node_room.uid,
					  .workload_api_version = w->api_version,
					  .workload_kind = w->kind,
					  .workload_name = w->name,
					  .containers = &sc,
					  .n_containers = 1,
					  .now_usec = (int64_t)now_usec(CLOCK_REALTIME) };
		char *body = NULL;

		shared_entry_name(w->key, n->agent.config.node_name, name);
		r = shared_entry_format(&e, &body);
		if (r >= 0)
			r = kube_patch_history(seq.client, w->namespace, name, body, on_seq_done,
					       NULL);
	} else
		r = kube_list_histories(seq.client, w->namespace, w->key, on_seq_done, NULL);
	if (r < 0) {
		seq.failures++;
		seq.done++;
		seq_next();
	}
}

static int on_sequential_start(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct kube_options ko = { .component = "snug-bench",
				   .node_name = nodes[0].agent.config.node_name };

	seq.node = &nodes[0];
	seq.total = 2 * opt.sequential;
	if (!seq.total ||
	    kube_client_new(sd_event_source_get_event(s), seq_config, &ko, &seq.client) < 0)
		return sd_event_exit(sd_event_source_get_event(s), 0);
	kube_client_set_observer(seq.client, on_seq_request, NULL);
	seq.start = cpu_now();
	seq.start_usec = now_usec(CLOCK_MONOTONIC);
	seq_next();
	return 0;
}

/* After the window: what is in flight drains (a fresh node's first answers included), then the
 * fresh nodes' figures, then the one-at-a-time requests. */
static int on_drain(sd_event_source *s, uint64_t usec, void *userdata)
{
	bool busy = false;

	for (unsigned i = 0; i < n_nodes; i++)
		for (struct history_workload *w = nodes[i].agent.shared.workloads; w; w = w->next)
			busy |= w->listing || w->writing;
	if (busy && ++drain_checks < 240)
		return sd_event_source_set_time_relative(s, 250 * USEC_PER_MSEC) < 0
			       ? 0
			       : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	printf("history-scale %s: %u fresh nodes, %" PRIu64 " workload containers with the merged "
	       "recommendation on the first answer, %" PRIu64 " without\n",
	       opt.label, opt.fresh, fresh_merged, fresh_unmerged);
	bench("fresh-to-recommendation-p50", percentile(&fresh_ready, 50), "ms", true);
	bench("fresh-to-recommendation-p99", percentile(&fresh_ready, 99), "ms", true);
	bench("fresh-merged",
	      fresh_merged + fresh_unmerged
		      ? 100.0 * (double)fresh_merged / (double)(fresh_merged + fresh_unmerged)
		      : NAN,
	      "pct", false);
	fflush(stdout);
	return on_sequential_start(s, usec, userdata);
}

/* The replies that were no success, over the whole run, by call and HTTP code (0: none came, e.g.
 * the client's 30 s timeout). */
static void print_failures(void)
{
	uint64_t counts[_KUBE_CALL_MAX][6] = { { 0 } }; /* code 0, 1xx-5xx by hundreds */

	for (unsigned i = 0; i < n_nodes; i++) {
		const struct kube_http_count *hc;
		size_t n = kube_client_http_counts(nodes[i].agent.kube, &hc);

		for (size_t k = 0; k < n; k++)
			if (hc[k].code / 100 < 6)
				counts[hc[k].call][hc[k].code / 100] += hc[k].count;
	}
	for (int call = 0; call < _KUBE_CALL_MAX; call++)
		if (counts[call][0] || counts[call][4] || counts[call][5])
			printf("history-scale %s: %s over the run: %" PRIu64
			       " without reply, %" PRIu64 " 4xx, %" PRIu64 " 5xx, %" PRIu64
			       " 2xx\n",
			       opt.label, kube_call_to_string(call), counts[call][0],
			       counts[call][4], counts[call][5], counts[call][2]);
}

static int on_window_end(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct cpu_mark end = cpu_now();
	double secs = (double)(now_usec(CLOCK_MONOTONIC) - window_start_usec) / 1e6;
	double writes = (double)(n_patch + n_create), requests = writes + (double)n_list;
	double api = end.apiserver - cpu_at_start.apiserver, etcd = end.etcd - cpu_at_start.etcd;
	double self = end.self - cpu_at_start.self;

	measuring = false;
	printf("history-scale %s: %u nodes x %u containers (%u workloads, %u daemonsets), interval "
	       "%.1f s, window %.1f s: %.0f writes (%.1f/s; %" PRIu64 " patch, %" PRIu64
	       " create), %" PRIu64 " lists (%.1f/s), %" PRIu64 " conflicts, %" PRIu64
	       " throttled, %" PRIu64 " errors; CPU s: apiserver %.2f etcd %.2f bench %.2f; fresh "
	       "%u nodes: %" PRIu64 " merged, %" PRIu64 " not\n",
	       opt.label, opt.nodes, opt.containers, n_pool, opt.daemonsets, opt.interval_sec, secs,
	       writes, writes / secs, n_patch, n_create, n_list, (double)n_list / secs, n_conflict,
	       n_throttled, n_error, api, etcd, self, opt.fresh, fresh_merged, fresh_unmerged);
	/* The format has no rate unit: the cluster-wide spacing of writes and lists (1/QPS). */
	bench("write-spacing", writes ? secs * 1e6 / writes : NAN, "us", false);
	bench("list-spacing", n_list ? secs * 1e6 / (double)n_list : NAN, "us", false);
	bench("patch-p50", percentile(&patch_lat, 50), "ms", true);
	bench("patch-p99", percentile(&patch_lat, 99), "ms", true);
	bench("create-p50", percentile(&create_lat, 50), "ms", true);
	bench("create-p99", percentile(&create_lat, 99), "ms", true);
	bench("list-p50", percentile(&list_lat, 50), "ms", true);
	bench("list-p99", percentile(&list_lat, 99), "ms", true);
	bench("list-bytes", mean(&list_bytes), "bytes", true);
	bench("conflicts", writes ? 100.0 * (double)n_conflict / writes : NAN, "pct", false);
	bench("errors", requests ? 100.0 * (double)n_error / requests : NAN, "pct", false);
	if (requests > 0 && !isnan(api + etcd)) {
		bench("apiserver-cpu-per-request", api * 1e6 / requests, "us", true);
		bench("etcd-cpu-per-request", etcd * 1e6 / requests, "us", true);
	}
	bench("bench-cpu", 100.0 * self / secs, "pct", false);
	fflush(stdout);
	print_failures();
	window_api_cpu_per_request = requests > 0 ? (api + etcd) * 1e6 / requests : NAN;
	/* The load stops; what is in flight drains before the one-at-a-time requests. */
	for (unsigned i = 0; i < n_nodes; i++)
		if (nodes[i].agent.shared.timer)
			(void)sd_event_source_set_enabled(nodes[i].agent.shared.timer,
							  SD_EVENT_OFF);
	(void)sd_event_source_set_enabled(sampler, SD_EVENT_OFF);
	return sd_event_add_time_relative(sd_event_source_get_event(s), NULL, CLOCK_MONOTONIC,
					  250 * USEC_PER_MSEC, 0, on_drain, NULL);
}

/* Before the nodes start, every seeded node's entries are created, SEED_PARALLEL at a time by one
 * client, with the body history_sync's first write sends (its PATCH finds no entry, then POSTs the
 * same): the warm-up is then one interval, not two. */
#define SEED_PARALLEL 8
static struct {
	struct kube_client *client;
	unsigned node, container, in_flight, created, failed;
	uint64_t start_usec;
} seed;

static void on_seed_request(enum kube_call call, long code, uint64_t usec, size_t bytes,
			    void *userdata)
{
	if (call == KUBE_CALL_CREATE_HISTORY && code == 201)
		series_add(&create_lat, (double)usec / 1000.0);
}

static int entry_body(const struct sim_node *n, const struct agent_history *h, char **ret)
{
	struct shared_container sc = { h->id.container, h->aggregate };
	struct shared_entry e = { .namespace = h->id.namespace,
				  .node_name = n->agent.config.node_name,
				  .node_uid = n->agent.node_room.uid,
				  .workload_api_version = "apps/v1",
				  .workload_kind = h->id.owner_kind,
				  .workload_name = h->id.owner_name,
				  .containers = &sc,
				  .n_containers = 1,
				  .now_usec = (int64_t)now_usec(CLOCK_REALTIME) };

	return shared_entry_format(&e, ret);
}

static void seed_next(sd_event *event);

static void on_seeded(const struct kube_result *res, void *userdata)
{
	seed.in_flight--;
	if (res->outcome == KUBE_OK)
		seed.created++;
	else
		seed.failed++;
	seed_next(userdata);
}

/* The load: the seeded nodes start spread over one interval, as the agents of a DaemonSet's
 * rollout would; the window opens when they all run. */
static void start_load(sd_event *event)
{
	uint64_t interval = (uint64_t)(opt.interval_sec * USEC_PER_SEC);
	sd_event_source *check = NULL;

	for (unsigned i = 0; i < opt.nodes; i++)
		if (sd_event_add_time_relative(event, &nodes[i].start, CLOCK_MONOTONIC,
					       (uint64_t)i * interval / opt.nodes + 1, 0,
					       on_node_start, &nodes[i]) < 0)
			abort();
	if (sd_event_add_time_relative(event, &sampler, CLOCK_MONOTONIC, interval / 2, 0, on_sample,
				       NULL) < 0 ||
	    sd_event_source_set_enabled(sampler, SD_EVENT_ON) < 0 ||
	    sd_event_add_time_relative(event, &check, CLOCK_MONOTONIC, interval, 0, on_window_check,
				       NULL) < 0 ||
	    sd_event_source_set_enabled(check, SD_EVENT_ON) < 0)
		abort();
}

static void seed_next(sd_event *event)
{
	while (seed.in_flight < SEED_PARALLEL && seed.node < opt.nodes) {
		struct sim_node *n = &nodes[seed.node];
		const struct agent_history *h = n->containers[seed.container].history;
		char *body = NULL;

		if (++seed.container == n->n_containers) {
			seed.container = 0;
			seed.node++;
		}
		if (entry_body(n, h, &body) < 0 ||
		    kube_create_history(seed.client, h->id.namespace, body, on_seeded, event) < 0) {
			seed.failed++;
			continue;
		}
		seed.in_flight++;
	}
	if (seed.in_flight || seed.node < opt.nodes)
		return;
	printf("history-scale %s: %u entries created in %.1f s (%d at a time), %u failed\n",
	       opt.label, seed.created, (double)(now_usec(CLOCK_MONOTONIC) - seed.start_usec) / 1e6,
	       SEED_PARALLEL, seed.failed);
	fflush(stdout);
	start_load(event);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_history --kubeconfig FILE [--nodes N] [--containers C] [--replicas "
		"R]\n"
		"  [--daemonsets D] [--namespaces K] [--fresh F] [--interval SEC] [--measure M]\n"
		"  [--label NAME] [--baseline FILE] [--apiserver-pid PID] [--etcd-pid PID]\n"
		"  [--sequential PAIRS]\n");
}

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = { { "kubeconfig", required_argument, NULL, 'k' },
						  { "nodes", required_argument, NULL, 'n' },
						  { "containers", required_argument, NULL, 'c' },
						  { "replicas", required_argument, NULL, 'r' },
						  { "daemonsets", required_argument, NULL, 'd' },
						  { "namespaces", required_argument, NULL, 's' },
						  { "fresh", required_argument, NULL, 'f' },
						  { "interval", required_argument, NULL, 'i' },
						  { "measure", required_argument, NULL, 'm' },
						  { "label", required_argument, NULL, 'l' },
						  { "baseline", required_argument, NULL, 'b' },
						  { "apiserver-pid", required_argument, NULL, 'A' },
						  { "etcd-pid", required_argument, NULL, 'E' },
						  { "sequential", required_argument, NULL, 'S' },
						  {} };
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
		switch (ch) {
		case 'k':
			opt.kubeconfig = optarg;
			break;
		case 'n':
			opt.nodes = (unsigned)atoi(optarg);
			break;
		case 'c':
			opt.containers = (unsigned)atoi(optarg);
			break;
		case 'r':
			opt.replicas = (unsigned)atoi(optarg);
			break;
		case 'd':
			opt.daemonsets = (unsigned)atoi(optarg);
			break;
		case 's':
			opt.namespaces = (unsigned)atoi(optarg);
			break;
		case 'f':
			opt.fresh = (unsigned)atoi(optarg);
			break;
		case 'i':
			opt.interval_sec = atof(optarg);
			break;
		case 'm':
			opt.measure_intervals = atof(optarg);
			break;
		case 'l':
			opt.label = optarg;
			break;
		case 'b':
			opt.baseline_file = optarg;
			break;
		case 'A':
			opt.apiserver_pid = atoi(optarg);
			break;
		case 'E':
			opt.etcd_pid = atoi(optarg);
			break;
		case 'S':
			opt.sequential = (unsigned)atoi(optarg);
			break;
		default:
			usage();
			return -EINVAL;
		}
	}
	if (!opt.kubeconfig || opt.nodes < 1 || opt.containers < 1 ||
	    opt.containers > MAX_PER_NODE || opt.replicas < 1 || opt.namespaces < 1 ||
	    opt.daemonsets > opt.containers || opt.interval_sec < 0.5 ||
	    opt.measure_intervals <= 0) {
		usage();
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct kube_config *cfg = NULL;
	sd_event *event = NULL;
	struct kube_options ko = { .component = "snug-bench" };
	uint64_t rng = 7;
	struct rlimit nofile;
	int r;

	if (parse_args(argc, argv) < 0)
		return 2;
	log_set_max_level(LOG_ERR);
	/* Each node's client keeps its own connections, as N agents would. */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		nofile.rlim_cur = nofile.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &nofile);
	}
	r = kube_config_from_kubeconfig(opt.kubeconfig, NULL, &cfg);
	if (r < 0 || sd_event_default(&event) < 0)
		return 1;
	seq_config = cfg;
	make_pool();
	n_nodes = opt.nodes + opt.fresh;
	nodes = calloc(n_nodes, sizeof(*nodes));
	if (!nodes)
		return 1;
	window_usec = (uint64_t)(opt.measure_intervals * opt.interval_sec * USEC_PER_SEC);
	for (unsigned i = 0; i < n_nodes; i++) {
		r = node_init(&nodes[i], i >= opt.nodes ? i - opt.nodes : i, i >= opt.nodes, cfg,
			      event, &rng);
		if (r < 0) {
			fprintf(stderr, "bench_history: node %u: %s\n", i, strerror(-r));
			return 1;
		}
	}
	ko.node_name = "bench-seeder";
	if (kube_client_new(event, cfg, &ko, &seed.client) < 0)
		return 1;
	kube_client_set_observer(seed.client, on_seed_request, NULL);
	seed.start_usec = now_usec(CLOCK_MONOTONIC);
	seed_next(event);
	r = sd_event_loop(event);
	return r < 0 ? 1 : 0;
}
