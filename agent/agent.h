/* The agent's one context: what `snug-agent run` owns, and the state it keeps per pod and container. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "agent/admission.h"
#include "agent/config.h"
#include "agent/decide.h"
#include "agent/history.h"
#include "agent/history_sync.h"
#include "agent/hpa_cache.h"
#include "agent/node_room.h"
#include "agent/outcome.h"
#include "agent/last_resize.h"
#include "agent/policy.h"
#include "agent/recommender/checkpoint.h"
#include "agent/recommender/recommender.h"
#include "agent/signals.h"
#include "cgroup/layout.h"
#include "cgroup/sampler.h"

struct kube_client;
struct kube_pod;
struct oomwatch;
struct agent_metrics;
struct fallback;
struct cg_limits;

/* What happened to the last decision of a container, for /recommendations and metrics. */
struct agent_action {
	uint64_t at_usec; /* CLOCK_REALTIME */
	enum agent_result result;
	char reason[DECIDE_REASON_MAX];
};

/* Where the last resize whose values snug wrote into the cgroups stands with the kubelet. */
enum agent_kubelet_wait {
	AGENT_KUBELET_IDLE,	 /* nothing of ours waits for the kubelet */
	AGENT_KUBELET_ADMISSION, /* our values are in the kernel, the kubelet has not admitted them */
	AGENT_KUBELET_ACTUATION, /* admitted: the kubelet is actuating them itself */
};

/* A container's resizes: the cooldown and its budget, what is in flight, the last decision and
 * where the kubelet stands on it. Actuation (actuate.c) keeps it; the loop and /recommendations
 * read it. */
/* One resource's cooldown and its budget of grows inside it (CLOCK_REALTIME), carried in
 * snug.io/last-resize across restarts. */
struct agent_cooldown {
	uint64_t last_usec; /* the last resize that changed this resource; 0 = none */
	/* When the grows inside the cooldown were accepted (oldest first, those past the window
	 * dropped). */
	uint64_t bypass_grows_usec[LAST_RESIZE_MAX_GROWS];
	size_t n_bypass_grows;
};

struct agent_resize {
	uint64_t last_usec; /* of either resource (CLOCK_REALTIME); from snug.io/last-resize */
	struct agent_cooldown cpu, memory; /* each resource's own */
	bool bypass_budget_warned;	   /* this spend of the budget was reported */
	bool in_flight;			   /* also while the pod is read back after a 409 */
	/* The decision being made is the one retry after a 409: another 409 is left to the next. */
	bool after_conflict;
	struct agent_action last;
	struct decide_decision last_decision; /* the last one the API accepted, as written */
	bool have_last_decision;
	/* The kubelet's answer to last_decision: until it admits the values written into the
	 * cgroups they are reverted when it refuses (Deferred, Infeasible, or the spec changed
	 * under it) or says nothing for --admission-timeout; no new decision meanwhile. An Error
	 * (admitted, actuating failed) keeps them. */
	enum agent_kubelet_wait kubelet_wait;
	bool wrote_cgroups; /* last_decision's steps are in the kernel (revert them on refusal) */
	/* The spec holds values the kubelet refused or never admitted (put back from the cgroups):
	 * decisions start from what it actuated, not from the spec. */
	bool spec_not_admitted;
	struct admission_baseline admission;
	sd_event_source *admission_timer;
};

/* Where a container's startup CPU boost (snug.io/startup-cpu-boost) stands. */
enum agent_boost_state {
	AGENT_BOOST_NONE,   /* no boost asked, or the container had started before snug saw it */
	AGENT_BOOST_WANTED, /* asked, not yet applied */
	AGENT_BOOST_ACTIVE, /* applied; CPU is the boost's until Ready or the time is up */
	AGENT_BOOST_RETURN_DUE, /* Ready or time up: the CPU goes back (retried until it has) */
	AGENT_BOOST_DONE,
};

struct agent_boost {
	enum agent_boost_state state;
	int64_t original_cpu_request, original_cpu_limit; /* before the boost */
	uint64_t applied_usec;				  /* CLOCK_MONOTONIC */
	uint64_t applied_realtime_usec; /* the same, for snug.io/last-resize across a restart */
	sd_event_source *deadline;	/* the time bound */
};

/* One app container or native sidecar (an init container with restartPolicy Always) of a managed
 * pod; ordinary init containers are never tracked. */
struct agent_container {
	struct agent_pod *pod;
	char *name;
	bool sidecar;		 /* spec.initContainers[], status.initContainerStatuses[] */
	char *container_id;	 /* from the pod status, NULL until started */
	struct cg_container *cg; /* its cgroup, NULL until discovery found it */
	struct cg_sampler_entry *entry;
	uint64_t oom_tracked_inode; /* the cgroup oomwatch watches for it, 0 = none */
	struct agent_history *history;
	struct rec_container rec;

	/* What the samples and memory.events say (throttling, growth, OOM causes). */
	struct signals_state signals;

	/* Signals waiting for a decision; they stay set until a resize is accepted. */
	bool oom_pending;
	int64_t oom_bumped_memory;
	uint64_t oom_seen_usec;	 /* CLOCK_MONOTONIC ns of the kill, for the latency histogram */
	uint64_t oom_kills_seen; /* memory.events oom_kill at the last kill record */

	bool have_recommendation;
	struct rec_recommendation recommendation;
	struct agent_resize resize;
	struct agent_boost boost;
	/* The HorizontalPodAutoscalers whose utilization divides by this container's CPU and memory
	 * requests (names, owned; NULL = none), as of its last decision: those requests stay. */
	char *hpa_cpu, *hpa_memory;
};

/* A pod of this node with a mode other than off (or that had bad annotations). */
struct agent_pod {
	struct agent *agent;
	char *uid, *namespace, *name;
	struct pol pol;
	struct agent_container *containers;
	size_t n_containers;
	bool bad_annotations; /* reported once per annotation set */
	/* The HPAs and requests last reported in an Event (owned; NULL = none): said once per pod. */
	char *hpa_reported;
	/* snug.io/last-resize writes go one at a time, so they land in the order of the resizes:
	 * while one is in flight the newest next value waits here (owned). */
	bool annotating;
	char *annotation_pending;
	struct agent_pod *next;
};

struct agent {
	struct agent_config config;
	sd_event *event;
	struct cg_tree *tree;
	struct cg_layout *layout;
	struct cg_sampler *sampler;
	struct cg_limits *limits; /* writes limits in order, through the pod's driver's backend */
	struct oomwatch *oomwatch;
	struct kube_client *kube;
	struct agent_metrics *metrics;
	struct fallback *fallback; /* eviction when in-place resize is not available */

	sd_event_source *sample_timer, *decide_timer, *checkpoint_timer, *rescan_timer;
	sd_event_source *layout_io, *sigterm, *sigint;

	/* A grow never asks for more than the node's allocatable minus the other pods' requests. */
	struct node_room node_room;
	/* The HPAs of the managed pods' namespaces: requests they divide by are left alone. */
	struct hpa_cache hpas;

	struct agent_pod *pods;
	struct history_store histories;
	/* This node's history of each workload written to the API, the other nodes' read back. */
	struct history_sync shared;
	bool ready; /* first pod sync done */
	/* The API server said it refuses lowering memory limits (1.33): decisions keep them. */
	bool keep_memory_limit;
	/* The formula this node's runtime turns a container's CPU shares into cpu.weight with,
	 * learnt once from a running container (kubelet's linear one: runc <= 1.3.1; log: newer);
	 * until known, snug leaves container weights to the runtime. */
	bool weight_formula_known;
	enum cg_weight_formula container_weight_formula;
	uint64_t last_tick_usec; /* CLOCK_MONOTONIC, /healthz */
	/* How actuation hands a container back for a decision now (an OOM kill that waited for a
	 * resize in flight, the pod read back after a 409): agent_decide_container, passed in by the
	 * loop so actuation never calls back into it directly. */
	void (*redecide)(struct agent *a, struct agent_container *c, enum agent_trigger trigger);
	/* actuate's contexts of requests and retries still pending (owned), freed at shutdown:
	 * kube_client_free() aborts requests without running their callbacks. */
	struct act_inflight *act_inflight;
};

/* Takes the config over (its strings too; *config is zeroed), also on failure. */
int agent_new(struct agent_config *config, struct agent **ret);
struct agent *agent_free(struct agent *a);
/* Runs the loop until SIGTERM/SIGINT; saves every checkpoint before returning. */
int agent_run(struct agent *a);

/* The trigger of the decision a container waits on, if any, when an answer it waited for comes
 * (its namespace's HPAs, its workload's shared history): an OOM kill not yet acted on, or a
 * startup boost to give or to return. None while a resize is in flight: its reply decides. */
static inline bool agent_container_waits(const struct agent_container *c,
					 enum agent_trigger *trigger)
{
	if (c->resize.in_flight)
		return false;
	if (c->oom_pending && c->cg)
		*trigger = AGENT_TRIGGER_OOM_KILL;
	else if (c->boost.state == AGENT_BOOST_WANTED || c->boost.state == AGENT_BOOST_RETURN_DUE)
		*trigger = AGENT_TRIGGER_STARTUP_BOOST;
	else
		return false;
	return true;
}

/* The managed pod with this UID, or NULL (gone, or no longer managed). */
static inline struct agent_pod *agent_find_pod(struct agent *a, const char *uid)
{
	for (struct agent_pod *p = a->pods; p; p = p->next)
		if (strcmp(p->uid, uid) == 0)
			return p;
	return NULL;
}

/* Decides for one container now and, when something is to change, hands it to actuation. */
void agent_decide_container(struct agent *a, struct agent_container *c, enum agent_trigger trigger);
/* A startup boost snug.io/last-resize says the agent before this one gave (b->at_usec != 0): held
 * again with the time left of its bound, given back when that is up or the container is Ready;
 * never given a second time. One older than any boost can last is over: left alone. */
void agent_boost_restore(struct agent *a, struct agent_container *c,
			 const struct last_resize_boost *b);
/* The pod changed: a wanted startup boost is applied, a boosted container that turned Ready gets
 * its CPU back (and again until the spec shows it). kc: the container in the pod as it is now. */
void agent_boost_follow(struct agent *a, struct agent_container *c,
			const struct kube_container *kc);
/* The JSON of /recommendations (caller frees). */
char *agent_recommendations_json(struct agent *a);
