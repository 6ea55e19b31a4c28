/* The numbers `snug-agent top` shows for one container, computed from two samples (testable apart from the CLI). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/files.h"
#include "cgroup/sampler.h"

struct agent_top_row {
	double cpu_usage_cores;		  /* Δusage_usec / Δt; NAN without a previous sample */
	double cpu_throttled_pct;	  /* Δthrottled_usec / Δt × 100; NAN when unknown */
	double cpu_throttled_periods_pct; /* Δnr_throttled / Δnr_periods × 100; NAN when no periods */
	uint64_t cpu_limit_millicores;	   /* from cpu.max; CG_UNLIMITED for "max" or unknown */
	uint64_t cpu_weight;		   /* 0 when cpu.weight is not there */
	uint64_t cpu_request_millicores;   /* cpu.weight → shares → millicores (approximate) */
	uint64_t memory_working_set_bytes; /* current − inactive_file */
	uint64_t memory_current_bytes;
	uint64_t memory_max_bytes;  /* CG_UNLIMITED for "max" or unknown */
	uint64_t memory_peak_bytes; /* CG_UNLIMITED when the kernel has no memory.peak */
	uint64_t oom_kill_count;
	double cpu_psi_some_avg10; /* percent; NAN when PSI is off */
	double memory_psi_some_avg10;
};

/* Fills *ret from cur and, for the rates, prev (NULL on the first sample). The request is derived
 * from cpu.weight with formula f. */
void agent_top_row(const struct cg_sample *prev, const struct cg_sample *cur,
		   enum cg_weight_formula f, struct agent_top_row *ret);

/* One pod's cpu.weight (written by the kubelet, always with its own formula) and the cpu.weight of
 * its container cgroups (written by the runtime, with either formula). */
struct agent_top_pod_weights {
	uint64_t pod_weight;
	const uint64_t *container_weights;
	size_t n_containers;
};

/* Guesses the runtime's shares→weight formula: the one under which the containers' shares add up
 * closest to their pods' shares. Containers at weight 1 (no request, sandbox) carry no
 * information and are skipped. Sets *ret and returns 1 when the evidence points one way, 0 (and
 * CG_WEIGHT_KUBELET) when there is none. */
int agent_top_guess_formula(const struct agent_top_pod_weights *pods, size_t n,
			    enum cg_weight_formula *ret);
