/* What an OOM kill or memory pressure in a managed container means, and the response to it. */
#pragma once

#include <stdbool.h>

#include "agent/agent.h"
#include "bpf/oomwatch_api.h"

/* Sets the container's OOM baseline (memcg `oom` counters of it and its pod) when its cgroup
 * c->cg is attached; is_new: the cgroup appeared while snug runs. */
void oom_kill_baseline(struct agent *a, struct agent_container *c, bool is_new);

/* oomwatch's handler (userdata: the agent): a kill at the container's own limit records an OOM
 * and decides at once; a kill the pod's or node's memory forced only says so; memory.max events
 * decide on pressure. */
void oom_kill_on_record(const struct oomwatch_record *rec, void *userdata);
