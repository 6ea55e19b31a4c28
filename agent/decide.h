/* The resize decision for one container: policy + pod spec + recommendation + signals → what to
 * change, why, and in which order the cgroup files must be written. Pure: no I/O, no clock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/policy.h"
#include "agent/util/resources.h"
#include "agent/util/qos.h"

enum decide_restart {
	DECIDE_RESTART_NOT_REQUIRED, /* resizePolicy NotRequired (the default) */
	DECIDE_RESTART_CONTAINER,    /* resizePolicy RestartContainer */
};

/* One app container of the pod as the spec has it now. */
struct decide_container {
	const char *name;
	struct resources res;
	enum decide_restart cpu_restart, memory_restart;
};

/* An init container (spec.initContainers[]), as the kubelet and the scheduler count it. */
struct decide_init_container {
	const char *name;
	struct resources res;
	/* Its resizePolicy: only a sidecar is ever decided on (the API server resizes no other init
	 * container before 1.36, and snug none at all). */
	enum decide_restart cpu_restart, memory_restart;
	/* restartPolicy Always: a native sidecar, running beside the app containers and summed with
	 * them; otherwise it runs to completion before them and counts as a max. */
	bool sidecar;
};

/* The pod of the container decided on: what the kubelet's pod cgroup (ResourceConfigForPod) and
 * the scheduler's pod requests (PodRequests) count besides its app containers. */
struct decide_pod {
	enum qos_class qos;			   /* status.qosClass */
	const struct decide_container *containers; /* spec.containers, in order */
	size_t n_containers;
	const struct decide_init_container *init_containers; /* spec.initContainers, in order */
	size_t n_init_containers;
	int64_t overhead_cpu_millis, overhead_memory_bytes; /* spec.overhead; 0 or -1 = none */
	/* Pod-level spec.resources (KEP-2837); all -1 = not set. Where set, the pod cgroup follows
	 * them rather than the containers' sums, and they bound the containers' resources. */
	struct resources resources;
};

/* What the kubelet writes into a pod's cgroup (ResourceConfigForPod, kubelet
 * pkg/kubelet/cm/helpers_linux.go). */
struct decide_pod_cgroup {
	/* The pod's CPU requests (millicores) the kubelet turns into cpu.weight through its shares
	 * (MilliCPUToShares: 0 → 2 shares); BestEffort: 0. */
	int64_t cpu_weight_millis;
	/* The pod's CPU limit (millicores) behind cpu.max; -1 = "max": a Burstable pod with a
	 * container without a CPU limit, or BestEffort. A kubelet with cpuCFSQuota false writes
	 * "max" whatever this says: that is the caller's to know. */
	int64_t cpu_max_millis;
	/* memory.max in bytes; -1 = "max" (a Burstable pod with a container without a memory
	 * limit, or BestEffort). */
	int64_t memory_max_bytes;
};

/* One resource's recommendation from the recommender; all -1 = no recommendation yet. */
struct decide_estimate {
	int64_t target, lower, upper;
};

/* What the node saw for this container since the last decision. */
struct decide_signals {
	/* The container was just OOM-killed at its own memory limit (a node-wide or pod-level OOM
	 * is not this signal); the recommender's bumped memory (bytes) after it, or -1. */
	bool oom_kill;
	int64_t oom_bumped_memory;
	/* memory.events `max` grew since the last look (usage hit memory.max). */
	bool memory_max_grew;
	/* memory.current and memory.max of the container cgroup (bytes, -1 = unknown / "max"). */
	int64_t memory_usage;
	int64_t memory_cgroup_limit;
	/* memory.current − inactive_file (bytes, -1 = unknown): what cannot be reclaimed. Near the
	 * limit it means an OOM kill is coming even before memory.events reports anything (an
	 * anonymous-memory grower hits `max` only moments before the kill). */
	int64_t memory_working_set;
	/* When memory_working_set is a projection ahead (a grower's rate), the one measured now, for
	 * the reason text; 0 or -1 = memory_working_set was measured. */
	int64_t memory_working_set_now;
	/* throttled_usec / usage_usec over the window, and the window's length. */
	double cpu_throttle_ratio;
	uint64_t cpu_throttle_window_usec;
	/* Pressure stall (PSI) of the container cgroup: the share of wall time some (full: all) of
	 * its tasks waited for memory, and some waited for a CPU, over stall_window_usec (0 =
	 * nothing measured yet: no PSI, or a new window). */
	double memory_stall_some, memory_stall_full, cpu_stall_some;
	uint64_t stall_window_usec;
	/* The share of the last over_request_window_usec (one to two --throttle-window's) in which
	 * the working set stood above the memory request (0 = none, or nothing measured yet). */
	double memory_over_request;
	uint64_t memory_over_request_window_usec;
	/* memory.pressure is read for this container. Then memory.events `max` alone is no
	 * pressure: any container that streams files through a page cache at its limit hits `max`
	 * at every charge, harmlessly; it takes the working set near the limit, or a stall. */
	bool memory_psi_known;
};

/* Node allocatable minus the requests of every other pod on the node; -1 = unknown (an
 * overcommitted node, where the difference is negative, is passed as 0). */
struct decide_node {
	int64_t cpu_free_millis;
	int64_t memory_free_bytes;
	/* The node's status.allocatable memory: no memory limit is raised above it. 0 or -1 =
	 * unknown (no ceiling). */
	int64_t memory_allocatable_bytes;
};

/* Tunables (flags); decide_config_default() gives snug's defaults. */
struct decide_config {
	double min_change;	       /* --min-change: 0.10 */
	uint64_t cooldown_usec;	       /* --cooldown: 5 min */
	double throttle_ratio;	       /* sustained throttling that raises the limit: 0.10 */
	double throttle_heavy_ratio;   /* ... at once, bypassing the cooldown: 0.25 */
	uint64_t throttle_window_usec; /* "sustained" = at least this long: 60 s */
	double throttle_grow;	       /* new CPU limit = old × this: 1.5 */
	double pressure_near;	     /* usage ≥ this × limit counts as "near the limit": 0.90 */
	double pressure_grow;	     /* new memory limit = old × this under pressure: 1.25 */
	double pressure_working_set; /* working set ≥ this × limit is pressure too: 0.95; 0 = off */
	/* PSI (docs/agent.md says why these): a memory `some` stall of at least psi_memory_some of
	 * the window, with usage near the limit, is memory pressure (--psi-memory: 0.10); a CPU
	 * `some` stall of at least psi_cpu_some while the limit throttles at all raises the CPU
	 * limit like sustained throttling (--psi-cpu: 0.20); any memory stall in the window holds
	 * a memory shrink. 0 = that use of PSI off. "Sustained" = psi_window_usec (--psi-window:
	 * 30 s). */
	double psi_memory_some;
	double psi_cpu_some;
	uint64_t psi_window_usec;
	int64_t memory_margin_bytes;   /* memory limit ≥ usage + max(this, fraction × usage) */
	double memory_margin_fraction; /* 32 MiB, 0.10 */
	int64_t memory_round_bytes;    /* computed memory values are rounded up to this: 1 MiB */
	/* VPA's OOM bump, max(used + min, used × ratio) (REC_OOM_MIN_BUMP_UP_BYTES,
	 * REC_OOM_BUMP_UP_RATIO: 100 MiB, 1.2; the agent copies the recommender's tunables here).
	 * A kill at the limit used the limit: the new limit is at least its bump. */
	int64_t oom_min_bump_bytes;
	double oom_bump_ratio;
	/* --bypass-budget: grows inside the cooldown (OOM kills, memory pressure, heavy throttling)
	 * per container per bypass_window_usec: 5 per hour. A spent budget makes the next signal
	 * wait for the cooldown like any other change. */
	unsigned bypass_budget;
	uint64_t bypass_window_usec;
	/* A working set above the memory request for at least over_request_share of a window of
	 * at least over_request_window_usec (0.5 of 60 s: the request is below the median of what
	 * the container holds) is an under-reservation: the request grows to the recommendation's
	 * target at once, inside memory's cooldown (within its bypass budget). 0 = off. */
	double over_request_share;
	uint64_t over_request_window_usec;
	/* snug.io/updater=vpa-like: at most one resize per this (VPA's --updater-interval: 1 min),
	 * in place of the cooldown. */
	uint64_t vpa_like_interval_usec;
};

/* The startup CPU boost (snug.io/startup-cpu-boost) of the container decided on: which step of it
 * this decision is. The caller keeps the boost's state. */
enum decide_boost_phase {
	DECIDE_BOOST_NONE,
	DECIDE_BOOST_APPLY,  /* the container starts: its CPU limit goes up */
	DECIDE_BOOST_HOLD,   /* boosted: CPU is left alone; memory signals act as usual */
	DECIDE_BOOST_RETURN, /* Ready, or the time is up: CPU request and limit back */
};

struct decide_boost {
	enum decide_boost_phase phase;
	double factor;	    /* APPLY: the limit × this (> 1), or 0 */
	int64_t add_millis; /* APPLY: the limit + this (> 0), or 0 */
	/* RETURN: what they were before the boost (RESOURCE_UNSET = none). */
	int64_t original_cpu_request, original_cpu_limit;
};

/* One resource's cooldown state, which the caller keeps (the same clock as now_usec). */
struct decide_cooldown {
	uint64_t last_resize_usec; /* the last resize that changed this resource; 0 = never */
	/* When this resource's past grows inside its cooldown were accepted (any order; those
	 * older than config->bypass_window_usec are ignored): the budget's state. */
	const uint64_t *bypass_grows_usec;
	size_t n_bypass_grows;
};

struct decide_input {
	const struct pol_container *policy; /* of the container decided on */
	struct decide_pod pod;
	/* The container decided on: an app container (index < pod.n_containers), or the native
	 * sidecar pod.init_containers[index - pod.n_containers]; an ordinary init container is
	 * refused (-EINVAL). */
	size_t index;
	struct decide_estimate cpu, memory;
	struct decide_signals signals;
	struct decide_node node;
	/* Each resource's cooldown and budget of grows inside it, its own: a CPU resize holds no
	 * memory change and spends none of memory's budget, and the other way round. */
	struct decide_cooldown cpu_cooldown, memory_cooldown;
	uint64_t now_usec;
	const struct decide_config *config; /* NULL = defaults */
	/* The API server refuses lowering a memory limit unless the memory resizePolicy is
	 * RestartContainer (Kubernetes 1.33): shrinking keeps the limit and lowers the request. */
	bool keep_memory_limit;
	struct decide_boost boost; /* zero: no boost */
	/* The HorizontalPodAutoscaler (its name; NULL = none) that scales the pod's owner on this
	 * container's CPU or memory *utilization* (a Resource metric, or a ContainerResource
	 * metric naming this container, with target.type Utilization): usage / request is what it
	 * measures, so the request is its denominator and never changes. The limit still grows on
	 * an OOM kill, pressure or throttling (alone; a Guaranteed pod, whose request must move
	 * with its limit, is then left as it is). AverageValue targets do not read the request:
	 * they pin nothing. */
	struct decide_hpa {
		const char *cpu, *memory;
	} hpa;
};

/* What a decision is for. Ordered by strength, on purpose: when memory and CPU both change, the
 * smaller value names the decision (a kill beats pressure beats throttling beats the
 * recommendation). */
enum decide_kind {
	DECIDE_NONE,		   /* nothing to change; reason says why */
	DECIDE_OOM,		   /* an OOM kill */
	DECIDE_PRESSURE,	   /* memory.events max growth near the limit */
	DECIDE_THROTTLE,	   /* sustained CPU throttling */
	DECIDE_STARTUP_BOOST,	   /* snug.io/startup-cpu-boost: raised as the container starts */
	DECIDE_STARTUP_BOOST_OVER, /* ... and given back once it is Ready or the time is up */
	DECIDE_RECOMMENDATION,	   /* the recommendation (or the min/max bounds) */
};

enum decide_level {
	DECIDE_LEVEL_POD,
	DECIDE_LEVEL_CONTAINER,
};

/* The cgroup value to write; converting to file text is the cgroup library's job. */
enum decide_file {
	DECIDE_FILE_MEMORY_MAX, /* value: bytes, -1 = "max" */
	DECIDE_FILE_CPU_MAX,	/* value: CPU limit in millicores, -1 = "max" */
	DECIDE_FILE_CPU_WEIGHT, /* value: CPU request in millicores (→ shares → weight) */
};

struct decide_step {
	enum decide_level level;
	enum decide_file file;
	int64_t old_value, value;
};

#define DECIDE_MAX_STEPS 6
/* More app containers than this in one pod is refused (-EINVAL): it bounds the sums. */
#define DECIDE_MAX_CONTAINERS 4096
#define DECIDE_REASON_MAX 512

struct decide_decision {
	enum decide_kind kind;
	bool bypass_cooldown; /* acted inside a cooldown (OOM, pressure, heavy throttling) */
	/* ... which resource's: each grow is counted in that resource's budget. */
	bool cpu_bypassed_cooldown, memory_bypassed_cooldown;
	/* A signal wanted to act inside the cooldown but this container's budget of such grows is
	 * spent: it waits for the cooldown (the reason says so). */
	bool bypass_budget_spent;
	bool report_only;	   /* mode recommend: report, never write */
	bool needs_restart;	   /* a changed resource has resizePolicy RestartContainer */
	bool shrinks_memory_limit; /* 1.33 refuses this unless memory resizePolicy RestartContainer */
	size_t index;		   /* the container changed (as decide_input.index) */
	struct resources old_res, new_res; /* of that container; others are unchanged */
	/* Pod-cgroup write order, kubelet's: per file, growing → pod first; shrinking → pod last. */
	struct decide_step steps[DECIDE_MAX_STEPS];
	size_t n_steps;
	char reason[DECIDE_REASON_MAX];
};

void decide_config_default(struct decide_config *ret);

/* Decides for the container in->index names (an app container or a native sidecar). Returns 0 and fills *ret (kind DECIDE_NONE when nothing
 * is to be done, with the reason), or -EINVAL on inconsistent input (then *ret is untouched).
 * A decision changes one container; to change several, call again with the first applied. */
int decide_container(const struct decide_input *in, struct decide_decision *ret);

/* VPA's proportional limit: ceil(limit × new request / old request), saturating; a limit or
 * request that is not positive leaves the limit as it is. The agent and the webhook use it. */
int64_t decide_ratio_limit(int64_t limit, int64_t new_request, int64_t old_request);

/* The QoS class Kubernetes derives (ComputePodQOS) from these app containers' cpu/memory requests
 * and limits alone. */
enum qos_class decide_qos_of(const struct decide_container *containers, size_t n);
/* ... from the whole pod: app and init containers, or the pod-level resources when set. */
enum qos_class decide_pod_qos(const struct decide_pod *pod);

/* What the kubelet writes into the pod cgroup (ResourceConfigForPod with component-helpers
 * PodRequests/PodLimits: app containers and native sidecars summed, ordinary init containers as
 * a max with the sidecars started before them, overhead added, pod-level resources instead of the
 * sums where set; QoS from pod->qos), with container `index`'s resources (an app container or a
 * native sidecar, numbered as decide_input.index) replaced by *with (with NULL: the pod as it is).
 * Returns 0, or -EINVAL on inconsistent input. */
int decide_pod_cgroup(const struct decide_pod *pod, size_t index, const struct resources *with,
		      struct decide_pod_cgroup *ret);

/* resizePolicy[].restartPolicy: "NotRequired" (or absent: NULL/"") or "RestartContainer". */
int decide_restart_from_string(const char *s);
const char *decide_kind_to_string(enum decide_kind k);
const char *decide_file_to_string(enum decide_file f);
