/* Test driver for the eviction fallback engine (the node's side): GETs the given pods through the
 * kube client, submits them to the engine in one sd-event loop, and prints the engine's counters as
 * JSON when every pod is done or asked for (or --run-ms passed). The API tier runs it against the
 * fake API server, with `snug-agent webhook` evicting what it asks for. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "agent/fallback.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/parse.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"

#define MAX_PODS 32
#define MAX_RECS 8

struct driver {
	sd_event *event;
	struct kube_client *kube;
	struct fallback *fb;
	char *pods[MAX_PODS]; /* "ns/name" */
	char *uids[MAX_PODS];
	size_t n_pods, n_got;
	struct fallback_container_rec recs[MAX_RECS];
	size_t n_recs;
	bool allow_single;
	const char *reason;
	int submit_results[MAX_PODS];
	int exit_code;
	unsigned done_ticks;
};

struct get_ctx {
	struct driver *d;
	size_t idx;
};

static bool all_done(const struct driver *d)
{
	if (d->n_got < d->n_pods)
		return false;
	for (size_t i = 0; i < d->n_pods; i++)
		if (d->uids[i] && fallback_pending(d->fb, d->uids[i]) &&
		    !fallback_requested(d->fb, d->uids[i]))
			return false;
	return true;
}

static void on_pod(const struct kube_result *r, void *userdata)
{
	struct get_ctx *g = userdata;
	struct driver *d = g->d;
	struct kube_pod *pod = NULL;
	char err[KUBE_ERRBUF] = "";
	const char *why = NULL;

	d->n_got++;
	if (r->outcome != KUBE_OK || !r->object || kube_pod_parse(r->object, &pod, err) < 0) {
		fprintf(stderr, "fallback-driver: pod %s: %s %s\n", d->pods[g->idx],
			kube_outcome_to_string(r->outcome), err);
		d->submit_results[g->idx] = -ENOENT;
		d->exit_code = 1;
	} else {
		d->uids[g->idx] = strdup(pod->uid);
		d->submit_results[g->idx] = fallback_submit(d->fb, pod, d->recs, d->n_recs,
							    d->allow_single, d->reason, &why);
		if (d->submit_results[g->idx] < 0)
			fprintf(stderr, "fallback-driver: pod %s refused: %s\n", d->pods[g->idx],
				why ? why : strerror(-d->submit_results[g->idx]));
	}
	kube_pod_free(pod);
	free(g);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct driver *d = userdata;

	/* Done: linger a little so the last Events leave before the client is freed. */
	if (all_done(d) && ++d->done_ticks > 15)
		return sd_event_exit(d->event, 0);
	sd_event_source_set_time_relative(s, 20 * 1000);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	return sd_event_exit(((struct driver *)userdata)->event, 0);
}

/* NAME:CPU:MEMORY[:CPULIMIT:MEMLIMIT], "-" = unset. */
static int parse_rec(const char *arg, struct fallback_container_rec *ret)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *parts[5] = { 0 }, *save = NULL, *p;
	int64_t *fields[4] = { &ret->res.cpu_request, &ret->res.memory_request, &ret->res.cpu_limit,
			       &ret->res.memory_limit };
	size_t n = 0;

	if (!copy)
		return -ENOMEM;
	for (p = strtok_r(copy, ":", &save); p && n < 5; p = strtok_r(NULL, ":", &save))
		parts[n++] = p;
	if (n < 3)
		return -EINVAL;
	ret->name = strdup(parts[0]);
	for (size_t i = 0; i < 4; i++) {
		const char *v = parts[i + 1];
		*fields[i] = RESOURCE_UNSET;
		if (!v || strcmp(v, "-") == 0)
			continue;
		if ((i % 2 == 0 ? quantity_parse_cpu_millis(v, fields[i])
				: quantity_parse_bytes(v, fields[i])) < 0)
			return -EINVAL;
	}
	return ret->name ? 0 : -ENOMEM;
}

static uint64_t ms_arg(const char *s)
{
	uint64_t v;
	if (safe_atou64(s, &v) < 0) {
		fprintf(stderr, "fallback-driver: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option options[] = { { "kubeconfig", required_argument, NULL, 'k' },
						 { "node", required_argument, NULL, 'n' },
						 { "pod", required_argument, NULL, 'p' },
						 { "rec", required_argument, NULL, 'r' },
						 { "reason", required_argument, NULL, 'R' },
						 { "allow-single", no_argument, NULL, 'a' },
						 { "max-evictions", required_argument, NULL, 'm' },
						 { "interval-ms", required_argument, NULL, 'i' },
						 { "backoff-min-ms", required_argument, NULL, 'b' },
						 { "backoff-max-ms", required_argument, NULL, 'B' },
						 { "max-attempts", required_argument, NULL, 'A' },
						 { "dry-run", no_argument, NULL, 'D' },
						 { "run-ms", required_argument, NULL, 't' },
						 { "log-level", required_argument, NULL, 'l' },
						 {} };
	struct driver d = { .reason = "in-place resize unavailable (test)" };
	struct fallback_config cfg = { .node_name = "node-1" };
	struct kube_options kopts = { .component = "snug-fallback-driver" };
	struct kube_config *kcfg = NULL;
	const char *kubeconfig = NULL;
	uint64_t run_ms = 30000;
	const struct fallback_stats *st;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (opt) {
		case 'k':
			kubeconfig = optarg;
			break;
		case 'n':
			cfg.node_name = optarg;
			break;
		case 'p':
			if (d.n_pods == MAX_PODS || !strchr(optarg, '/'))
				return 2;
			d.pods[d.n_pods++] = optarg;
			break;
		case 'r':
			if (d.n_recs == MAX_RECS || parse_rec(optarg, &d.recs[d.n_recs]) < 0) {
				fprintf(stderr, "fallback-driver: bad --rec '%s'\n", optarg);
				return 2;
			}
			d.n_recs++;
			break;
		case 'R':
			d.reason = optarg;
			break;
		case 'a':
			d.allow_single = true;
			break;
		case 'm':
			cfg.max_evictions = (unsigned)ms_arg(optarg);
			break;
		case 'i':
			cfg.interval_usec = ms_arg(optarg) * 1000;
			break;
		case 'b':
			cfg.backoff_min_usec = ms_arg(optarg) * 1000;
			break;
		case 'B':
			cfg.backoff_max_usec = ms_arg(optarg) * 1000;
			break;
		case 'A':
			cfg.max_attempts = (unsigned)ms_arg(optarg);
			break;
		case 'D':
			cfg.dry_run = true;
			break;
		case 't':
			run_ms = ms_arg(optarg);
			break;
		case 'l':
			log_set_max_level(log_level_from_string(optarg));
			break;
		default:
			return 2;
		}
	}
	if (d.n_pods == 0 || d.n_recs == 0) {
		fprintf(stderr, "fallback-driver: --pod NS/NAME and --rec NAME:CPU:MEM needed\n");
		return 2;
	}
	log_set_prefix(false);
	kopts.node_name = cfg.node_name;
	if ((r = kube_config_load(kubeconfig, &kcfg)) < 0 || (r = sd_event_new(&d.event)) < 0 ||
	    (r = kube_client_new(d.event, kcfg, &kopts, &d.kube)) < 0 ||
	    (r = fallback_new(d.event, d.kube, &cfg, &d.fb)) < 0) {
		fprintf(stderr, "fallback-driver: setup: %s\n", strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < d.n_pods; i++) {
		struct get_ctx *g = calloc(1, sizeof(*g));
		_cleanup_free_ char *ns = strndup(d.pods[i], strcspn(d.pods[i], "/"));
		struct kube_object_ref ref = { .api_version = "v1",
					       .kind = "Pod",
					       .namespace = ns,
					       .name = strchr(d.pods[i], '/') + 1 };
		g->d = &d;
		g->idx = i;
		r = kube_get(d.kube, &ref, on_pod, g);
		if (r < 0) {
			fprintf(stderr, "fallback-driver: get: %s\n", strerror(-r));
			return 1;
		}
	}
	sd_event_add_time_relative(d.event, NULL, CLOCK_MONOTONIC, 20 * 1000, 0, on_tick, &d);
	sd_event_add_time_relative(d.event, NULL, CLOCK_MONOTONIC, run_ms * 1000, 0, on_deadline,
				   &d);
	sd_event_loop(d.event);

	st = fallback_stats(d.fb);
	printf("{\"submitted\":%" PRIu64 ",\"updated\":%" PRIu64 ",\"refused_bare\":%" PRIu64
	       ",\"refused_single\":%" PRIu64 ",\"refused_kind\":%" PRIu64 ",\"flushed\":%" PRIu64
	       ",\"requested\":%" PRIu64 ",\"gone\":%" PRIu64 ",\"errors\":%" PRIu64
	       ",\"failed\":%" PRIu64 ",\"rate_limited\":%" PRIu64 ",\"dry_run\":%" PRIu64
	       ",\"queued\":%" PRIu64 ",\"submit\":[",
	       st->submitted, st->updated, st->refused_bare, st->refused_single, st->refused_kind,
	       st->flushed, st->requested, st->gone, st->errors, st->failed, st->rate_limited,
	       st->dry_run, st->queued);
	for (size_t i = 0; i < d.n_pods; i++)
		printf("%s%d", i ? "," : "", d.submit_results[i]);
	printf("]}\n");
	fflush(stdout);

	d.kube = kube_client_free(d.kube);
	d.fb = fallback_free(d.fb);
	kube_config_free(kcfg);
	sd_event_unref(d.event);
	for (size_t i = 0; i < d.n_pods; i++)
		free(d.uids[i]);
	for (size_t i = 0; i < d.n_recs; i++)
		free((char *)d.recs[i].name);
	return d.exit_code;
}
