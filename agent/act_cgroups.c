/* A decision's cgroup steps as limit writes for cgroup/'s backends, in the decision's order, and their undoing. */
#include "agent/act_cgroups.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "agent/util/cleanup.h"
#include "agent/util/log.h"

static bool lowers_memory_max(const struct decide_step *s)
{
	return s->file == DECIDE_FILE_MEMORY_MAX && s->value >= 0 &&
	       (s->old_value < 0 || s->value < s->old_value);
}

int act_limit_writes(const struct act_cgroup_target *t, const struct decide_decision *d,
		     struct cg_limit_write ret[DECIDE_MAX_STEPS])
{
	if (d->n_steps > DECIDE_MAX_STEPS)
		return -EINVAL;
	for (size_t i = 0; i < d->n_steps; i++) {
		const struct decide_step *s = &d->steps[i];
		bool pod = s->level == DECIDE_LEVEL_POD;
		enum cg_weight_formula f = pod ? CG_WEIGHT_KUBELET : t->container_weight_formula;
		uint64_t value = s->value < 0 ? CG_UNLIMITED : (uint64_t)s->value;
		struct cg_limit_write w = { .path = pod ? t->pod_path : t->container_path };

		if (!w.path)
			return -ENOENT;
		switch (s->file) {
		case DECIDE_FILE_MEMORY_MAX:
			w.limit = CG_LIMIT_MEMORY_MAX;
			w.value = value;
			w.not_below_usage = lowers_memory_max(s);
			break;
		case DECIDE_FILE_CPU_MAX:
			w.limit = CG_LIMIT_CPU_MAX;
			w.value = value;
			break;
		case DECIDE_FILE_CPU_WEIGHT:
			w.limit = CG_LIMIT_CPU_WEIGHT;
			w.value = cg_shares_to_weight(
				f, cg_millicores_to_shares(s->value < 0 ? 0 : (uint64_t)s->value));
			break;
		default:
			return -EINVAL;
		}
		ret[i] = w;
	}
	return (int)d->n_steps;
}

/* Whom to tell when the writes are done. */
struct write_ctx {
	act_cgroups_done_fn done;
	void *userdata;
};

static void on_limits_written(int r, const struct cg_limit_write *w,
			      const struct cg_limit_result *res, size_t n, void *userdata)
{
	struct write_ctx *ctx = userdata;

	for (size_t i = 0; i < n; i++) {
		if (res[i].outcome == CG_LIMIT_KEPT_UNDER_USAGE)
			log_warning("Not lowering memory.max of %s to %" PRIu64
				    " bytes: it uses %" PRIu64 " now",
				    w[i].path, w[i].value, res[i].usage);
		else if (res[i].outcome == CG_LIMIT_FAILED)
			log_debug_errno(res[i].error, "Writing %s of %s failed: %m",
					cg_limit_to_string(w[i].limit), w[i].path);
	}
	ctx->done(r, ctx->userdata);
	free(ctx);
}

int act_write_cgroups(struct cg_limits *l, const struct act_cgroup_target *t,
		      const struct decide_decision *d, act_cgroups_done_fn done, void *userdata)
{
	struct cg_limit_write writes[DECIDE_MAX_STEPS];
	struct write_ctx *ctx;
	int n = act_limit_writes(t, d, writes);
	int r;

	if (n < 0)
		return n;
	if (t->dry_run) {
		for (size_t i = 0; i < d->n_steps; i++)
			log_info("dry-run: would set %s of %s to %" PRId64,
				 decide_file_to_string(d->steps[i].file), writes[i].path,
				 d->steps[i].value);
		done(0, userdata);
		return 0;
	}
	ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	*ctx = (struct write_ctx){ done, userdata };
	r = cg_limits_write(l, t->backend, writes, (size_t)n, on_limits_written, ctx);
	if (r < 0)
		free(ctx);
	return r;
}

void act_revert_of(const struct decide_decision *d, struct decide_decision *ret)
{
	struct decide_decision r = *d;

	r.old_res = d->new_res;
	r.new_res = d->old_res;
	/* Backwards, each step undone: what grew pod-first now shrinks pod-last, and back. */
	for (size_t i = 0; i < d->n_steps; i++) {
		const struct decide_step *s = &d->steps[d->n_steps - 1 - i];

		r.steps[i] = (struct decide_step){ .level = s->level,
						   .file = s->file,
						   .old_value = s->value,
						   .value = s->old_value };
	}
	*ret = r;
}

void act_drop_steps(struct decide_decision *d, enum decide_level level, enum decide_file file)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_steps; i++)
		if (d->steps[i].level != level || d->steps[i].file != file)
			d->steps[n++] = d->steps[i];
	d->n_steps = n;
}

/* ---- what this node's kubelet and runtime write ---------------------------------------------- */

/* The formula this node's runtime turns a container's CPU shares into cpu.weight with, learnt once
 * from a container's cpu.weight against its known request (runc <= 1.3.1 and crun < 1.23 use the
 * kubelet's linear one, newer ones a log curve). Until a container tells them apart, unknown. */
static void learn_weight_formula(const struct act_node_writes *w, const char *path,
				 int64_t request_millicores)
{
	_cleanup_close_ int fd = -EBADF;
	enum cg_weight_formula f;
	uint64_t weight;

	if (*w->weight_formula_known)
		return;
	fd = cg_tree_open_dir(w->tree, path);
	if (fd < 0 || cg_read_cpu_weight_at(fd, &weight) < 0 ||
	    cg_weight_formula_detect(
		    weight, request_millicores > 0 ? (uint64_t)request_millicores : 0, &f) < 0)
		return;
	*w->weight_formula_known = true;
	*w->container_weight_formula = f;
	log_info("This node's runtime sets a container's cpu.weight with the %s formula "
		 "(learnt from %s: weight %" PRIu64 " for a %" PRId64 "m request)",
		 cg_weight_formula_to_string(f), path, weight, request_millicores);
}

/* True when the cgroup holds no CFS quota: the kubelet left cpu.max at "max" on purpose
 * (cpuCFSQuota: false, or exclusive CPUs of the static CPU manager), so snug writes none either. */
static bool cpu_quota_off(struct cg_tree *tree, const char *path)
{
	_cleanup_close_ int fd = cg_tree_open_dir(tree, path);
	struct cg_cpu_max m;

	return fd >= 0 && cg_read_cpu_max_at(fd, &m) >= 0 && m.quota_usec == CG_UNLIMITED;
}

void act_drop_unwritten(const struct act_node_writes *w, const char *pod_path,
			const char *container_path, const char *who, struct decide_decision *d)
{
	static const enum decide_level levels[] = { DECIDE_LEVEL_POD, DECIDE_LEVEL_CONTAINER };

	for (size_t l = 0; l < 2; l++) {
		const char *path = levels[l] == DECIDE_LEVEL_POD ? pod_path : container_path;
		bool quota_in_model = false;

		for (size_t i = 0; i < d->n_steps; i++)
			if (d->steps[i].level == levels[l] &&
			    d->steps[i].file == DECIDE_FILE_CPU_MAX && d->steps[i].old_value >= 0)
				quota_in_model = true;
		if (quota_in_model && cpu_quota_off(w->tree, path)) {
			log_info("%s: %s has no CPU quota though the spec has a limit (kubelet "
				 "cpuCFSQuota off, or exclusive CPUs): cpu.max left alone",
				 who, path);
			act_drop_steps(d, levels[l], DECIDE_FILE_CPU_MAX);
		}
	}
	learn_weight_formula(w, container_path, d->old_res.cpu_request);
	if (!*w->weight_formula_known)
		act_drop_steps(d, DECIDE_LEVEL_CONTAINER, DECIDE_FILE_CPU_WEIGHT);
}
