/* The settings of `snug-agent run`: flags and environment turned into one validated struct. */
#include "agent/config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/last_resize.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/parse.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"

void agent_config_init(struct agent_config *c)
{
	*c = (struct agent_config){
		.sample_interval_usec = 1 * USEC_PER_SEC,
		.checkpoint_interval_usec = 300 * USEC_PER_SEC,
		.decide_interval_usec = 15 * USEC_PER_SEC,
		.rescan_interval_usec = 10 * USEC_PER_SEC,
		.node_refresh_usec = 60 * USEC_PER_SEC,
		.hpa_refresh_usec = 300 * USEC_PER_SEC,
		.history_interval_usec = 600 * USEC_PER_SEC,
		.log_level = LOG_INFO,
		.sampler_mode = CG_SAMPLER_AUTO,
		.policy = POL_DEFAULTS_INIT,
		.min_history_usec = 600 * USEC_PER_SEC,
		.max_evictions = 1,
		.pressure_lookahead_usec = 3 * USEC_PER_SEC,
		.admission_timeout_usec = 30 * USEC_PER_SEC,
		.eviction_interval_usec = 300 * USEC_PER_SEC,
	};
	decide_config_default(&c->decide);
	rec_tunables_init_default(&c->tunables);
}

void agent_config_done(struct agent_config *c)
{
	free(c->node_name);
	free(c->kubeconfig);
	free(c->cgroup_root);
	free(c->state_dir);
	free(c->listen);
	*c = (struct agent_config){ 0 };
}

static void usage(FILE *f)
{
	fputs("Usage: snug-agent run [OPTIONS]\n"
	      "\n"
	      "The node agent. It watches the pods of this node that opted in with the annotation\n"
	      "snug.io/mode, samples their cgroups every second, learns VPA-style "
	      "recommendations,\n"
	      "and resizes their containers in place (API first, then the cgroup files).\n"
	      "\n"
	      "Pod annotations (docs/agent.md): snug.io/mode, resources, controlled-values,\n"
	      "min-cpu, max-cpu, min-memory, max-memory, containers,\n"
	      "allow-single-replica-eviction, startup-cpu-boost (\"2x\", \"+1\": the CPU limit\n"
	      "while a container starts) and startup-cpu-boost-until (\"ready\", \"90s\", both).\n"
	      "\n"
	      "Where:\n"
	      "  --node-name NAME        this node (default $NODE_NAME; required)\n"
	      "  --kubeconfig FILE       talk to the API server with this kubeconfig\n"
	      "                          (default: in-cluster service account, then $KUBECONFIG)\n"
	      "  --cgroup-root DIR       cgroup v2 mount (default /sys/fs/cgroup)\n"
	      "  --state-dir DIR         recommender checkpoints (default /var/lib/snug)\n"
	      "  --listen [ADDR]:PORT    /metrics /healthz /readyz /recommendations (default "
	      ":9746)\n"
	      "\n"
	      "What it may do:\n"
	      "  --default-mode MODE     mode of pods without snug.io/mode: off (default), "
	      "recommend,\n"
	      "                          auto, in-place\n"
	      "  --dry-run               decide and report, never PATCH or write a cgroup file\n"
	      "  --api-only              resize through the API only and leave every cgroup write "
	      "to\n"
	      "                          the kubelet (slower to take effect: see "
	      "docs/benchmarks.md)\n"
	      "  --max-cpu QUANTITY      cluster cap on any CPU request/limit snug sets (e.g. 4)\n"
	      "  --max-memory QUANTITY   cluster cap on memory (e.g. 8Gi)\n"
	      "  --min-change FRACTION   ignore recommendations within this of the request (0.10)\n"
	      "  --cooldown DURATION     at most one resize per container and resource per this\n"
	      "                          (5m); OOM kills, memory pressure, heavy throttling and\n"
	      "                          an under-reserved memory request act at once\n"
	      "  --min-history DURATION  act on recommendations only after this much history "
	      "(10m)\n"
	      "  --throttle-window DUR   CPU throttling must last this long to raise a limit "
	      "(60s)\n"
	      "  --pressure-lookahead DUR  judge memory pressure on the working set this far "
	      "ahead\n"
	      "                          at its growth rate (3s; 0 = as measured)\n"
	      "  --max-evictions N       evictions (mode auto, no in-place resize) per interval "
	      "on\n"
	      "                          this node (1; 0 = never evict)\n"
	      "  --eviction-interval DUR the interval of --max-evictions (5m)\n"
	      "  --admission-timeout DUR limits written into the cgroups for a resize the kubelet\n"
	      "                          has not admitted by then are put back (30s); a refusal\n"
	      "                          (Deferred, Infeasible) puts them back at once\n"
	      "  --bypass-budget N       grows inside the cooldown per container and resource\n"
	      "                          per hour (5; at most 32); once spent, signals wait for\n"
	      "                          the cooldown\n"
	      "  --psi-memory FRACTION   a memory stall (PSI some) of this share of --psi-window\n"
	      "                          with usage near the limit is memory pressure (0.10;\n"
	      "                          0 = off); any memory stall holds a memory shrink\n"
	      "  --psi-cpu FRACTION      a CPU stall (PSI some) of this share while the limit\n"
	      "                          throttles raises the CPU limit (0.20; 0 = off)\n"
	      "  --psi-window DUR        how long a stall must last (30s)\n"
	      "\n"
	      "How it looks:\n"
	      "  --sample-interval DUR   cgroup sampling period (1s)\n"
	      "  --decide-interval DUR   how often recommendations are compared (15s)\n"
	      "  --checkpoint-interval DUR  how often history is saved (5m; also at shutdown)\n"
	      "  --node-refresh DUR      how often this node's allocatable is read again (1m); a\n"
	      "                          grow never asks for more than it minus the other pods'\n"
	      "                          requests\n"
	      "  --hpa-refresh DUR       how often a namespace's HorizontalPodAutoscalers are\n"
	      "                          listed again (5m); a CPU or memory request an HPA\n"
	      "                          scales on by utilization is never changed, its limit\n"
	      "                          still grows (0 = do not look HPAs up)\n"
	      "  --history-interval DUR  how often this node's history of each workload is\n"
	      "                          written to its WorkloadHistory entry and the other\n"
	      "                          nodes' entries are read (10m; 0 = node-local history)\n"
	      "  --sampler MODE          auto (io_uring, else pread), uring, pread\n"
	      "  --no-bpf                see OOM kills through memory.events only\n"
	      "  --log-level LEVEL       error, warning, info (default), debug\n"
	      "  --test-half-life DUR    TEST ONLY: shorten the histograms' 24h decay half-life\n"
	      "  --rec NAME=VALUE        a recommender tunable by its VPA flag name, as\n"
	      "                          `snug-agent recommend --help` lists them (repeatable)\n"
	      "  -h, --help              this text\n",
	      f);
}

static int dup_arg(char **dst, const char *v)
{
	char *n = strdup(v);
	if (!n)
		return -ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

enum {
	ARG_NODE_NAME = 0x100,
	ARG_KUBECONFIG,
	ARG_CGROUP_ROOT,
	ARG_STATE_DIR,
	ARG_LISTEN,
	ARG_SAMPLE_INTERVAL,
	ARG_DECIDE_INTERVAL,
	ARG_CHECKPOINT_INTERVAL,
	ARG_DEFAULT_MODE,
	ARG_DRY_RUN,
	ARG_MAX_CPU,
	ARG_MAX_MEMORY,
	ARG_MIN_CHANGE,
	ARG_COOLDOWN,
	ARG_NO_BPF,
	ARG_LOG_LEVEL,
	ARG_SAMPLER,
	ARG_TEST_HALF_LIFE,
	ARG_MIN_HISTORY,
	ARG_THROTTLE_WINDOW,
	ARG_MAX_EVICTIONS,
	ARG_EVICTION_INTERVAL,
	ARG_PRESSURE_LOOKAHEAD,
	ARG_NODE_REFRESH,
	ARG_ADMISSION_TIMEOUT,
	ARG_API_ONLY,
	ARG_BYPASS_BUDGET,
	ARG_PSI_MEMORY,
	ARG_PSI_CPU,
	ARG_PSI_WINDOW,
	ARG_REC,
	ARG_HPA_REFRESH,
	ARG_HISTORY_INTERVAL,
};

static int bad(const char *opt, const char *value, const char *why)
{
	fprintf(stderr, "snug-agent run: %s '%s': %s\n", opt, value, why);
	return -EINVAL;
}

/* offsetof a uint64_t member of struct agent_config; any other type does not compile. */
#define DURATION_FIELD(member)                                                                     \
	_Generic(((struct agent_config *)NULL)->member, uint64_t                                   \
		 : offsetof(struct agent_config, member))

/* The duration flags: where each lands and whether 0 means something (off, or "as measured").
 * --test-half-life is not here: it sets two int64_t tunables. */
static const struct duration_option {
	int arg;
	size_t field;
	bool zero_allowed;
} duration_options[] = {
	{ ARG_SAMPLE_INTERVAL, DURATION_FIELD(sample_interval_usec), false },
	{ ARG_DECIDE_INTERVAL, DURATION_FIELD(decide_interval_usec), false },
	{ ARG_CHECKPOINT_INTERVAL, DURATION_FIELD(checkpoint_interval_usec), false },
	{ ARG_COOLDOWN, DURATION_FIELD(decide.cooldown_usec), true },
	{ ARG_MIN_HISTORY, DURATION_FIELD(min_history_usec), true },
	{ ARG_THROTTLE_WINDOW, DURATION_FIELD(decide.throttle_window_usec), false },
	{ ARG_EVICTION_INTERVAL, DURATION_FIELD(eviction_interval_usec), false },
	{ ARG_PRESSURE_LOOKAHEAD, DURATION_FIELD(pressure_lookahead_usec), true },
	{ ARG_NODE_REFRESH, DURATION_FIELD(node_refresh_usec), false },
	{ ARG_ADMISSION_TIMEOUT, DURATION_FIELD(admission_timeout_usec), false },
	{ ARG_PSI_WINDOW, DURATION_FIELD(decide.psi_window_usec), false },
	{ ARG_HPA_REFRESH, DURATION_FIELD(hpa_refresh_usec), true },
	{ ARG_HISTORY_INTERVAL, DURATION_FIELD(history_interval_usec), true },
};

static const struct duration_option *duration_option_find(int arg)
{
	for (size_t i = 0; i < sizeof(duration_options) / sizeof(duration_options[0]); i++)
		if (duration_options[i].arg == arg)
			return &duration_options[i];
	return NULL;
}

/* arg names the flag (--cooldown) for the message. */
static int parse_duration_arg(const char *arg, const char *value, bool zero_allowed,
			      uint64_t *ret_usec)
{
	uint64_t usec;

	if (parse_duration(value, &usec) < 0 || (usec == 0 && !zero_allowed))
		return bad(arg, value, "not a duration (e.g. 1s, 500ms, 5m)");
	*ret_usec = usec;
	return 0;
}

/* --max-cpu, --max-memory, --min-change, --max-evictions, --bypass-budget, --psi-memory, --psi-cpu:
 * caps and thresholds. */
static int apply_limit_option(struct agent_config *c, int opt, const char *value)
{
	uint64_t n;
	int64_t q;
	double d;

	switch (opt) {
	case ARG_MAX_CPU:
		if (quantity_parse_cpu_millis(value, &q) < 0 || q <= 0)
			return bad("--max-cpu", value, "not a positive CPU quantity");
		c->policy.max_cpu_millis = q;
		return 0;
	case ARG_MAX_MEMORY:
		if (quantity_parse_bytes(value, &q) < 0 || q <= 0)
			return bad("--max-memory", value, "not a positive memory quantity");
		c->policy.max_memory_bytes = q;
		return 0;
	case ARG_MIN_CHANGE:
		if (safe_atod(value, &d) < 0 || d < 0 || d >= 1)
			return bad("--min-change", value, "expected a fraction in [0, 1)");
		c->decide.min_change = d;
		return 0;
	case ARG_PSI_MEMORY:
	case ARG_PSI_CPU:
		if (safe_atod(value, &d) < 0 || !(d >= 0 && d <= 1))
			return bad(opt == ARG_PSI_MEMORY ? "--psi-memory" : "--psi-cpu", value,
				   "expected a share of time in [0, 1] (0 = off)");
		*(opt == ARG_PSI_MEMORY ? &c->decide.psi_memory_some : &c->decide.psi_cpu_some) = d;
		return 0;
	case ARG_MAX_EVICTIONS:
		if (safe_atou64(value, &n) < 0 || n > 1000)
			return bad("--max-evictions", value, "expected a count (0 = never evict)");
		c->max_evictions = (unsigned)n;
		return 0;
	case ARG_BYPASS_BUDGET:
		if (safe_atou64(value, &n) < 0 || n > LAST_RESIZE_MAX_GROWS)
			return bad("--bypass-budget", value,
				   "expected a count from 0 (never bypass) to 32");
		c->decide.bypass_budget = (unsigned)n;
		return 0;
	}
	return -EINVAL;
}

/* One option from getopt_long: 0 when taken, 1 after --help, -errno (message printed) if not. */
static int apply_option(struct agent_config *c, int opt, const char *arg, const char *value)
{
	const struct duration_option *dur = duration_option_find(opt);
	uint64_t usec;
	int r;

	if (dur) {
		r = parse_duration_arg(arg, value, dur->zero_allowed, &usec);
		if (r < 0)
			return r;
		*(uint64_t *)((char *)c + dur->field) = usec;
		return 0;
	}
	switch (opt) {
	case 'h':
		usage(stdout);
		return 1;
	case ARG_NODE_NAME:
		return dup_arg(&c->node_name, value);
	case ARG_KUBECONFIG:
		return dup_arg(&c->kubeconfig, value);
	case ARG_CGROUP_ROOT:
		return dup_arg(&c->cgroup_root, value);
	case ARG_STATE_DIR:
		return dup_arg(&c->state_dir, value);
	case ARG_LISTEN:
		return dup_arg(&c->listen, value);
	case ARG_REC: {
		/* NAME=VALUE: one of the recommender's VPA flags (`snug-agent recommend --help`). */
		_cleanup_free_ char *name = strdup(value);
		char *eq = name ? strchr(name, '=') : NULL;

		if (!name)
			return -ENOMEM;
		if (!eq || rec_tunables_set(&c->tunables, name, (*eq = '\0', eq + 1)) < 0)
			return bad(
				arg, value,
				"want NAME=VALUE with a recommender flag of `snug-agent recommend "
				"--help`");
		return 0;
	}
	case ARG_TEST_HALF_LIFE:
		r = parse_duration_arg(arg, value, false, &usec);
		if (r < 0)
			return r;
		c->tunables.cpu_histogram_decay_half_life_usec = (int64_t)usec;
		c->tunables.memory_histogram_decay_half_life_usec = (int64_t)usec;
		return 0;
	case ARG_MAX_CPU:
	case ARG_MAX_MEMORY:
	case ARG_MIN_CHANGE:
	case ARG_MAX_EVICTIONS:
	case ARG_BYPASS_BUDGET:
	case ARG_PSI_MEMORY:
	case ARG_PSI_CPU:
		return apply_limit_option(c, opt, value);
	case ARG_DEFAULT_MODE:
		r = pol_mode_from_string(value);
		if (r < 0)
			return bad("--default-mode", value,
				   "expected off, recommend, auto or in-place");
		c->policy.mode = r;
		return 0;
	case ARG_LOG_LEVEL:
		r = log_level_from_string(value);
		if (r < 0)
			return bad("--log-level", value, "expected error, warning, info or debug");
		c->log_level = r;
		return 0;
	case ARG_SAMPLER:
		if (cg_sampler_mode_from_string(value, &c->sampler_mode) < 0)
			return bad("--sampler", value, "expected auto, uring or pread");
		return 0;
	case ARG_DRY_RUN:
		c->dry_run = true;
		return 0;
	case ARG_API_ONLY:
		c->api_only = true;
		return 0;
	case ARG_NO_BPF:
		c->no_bpf = true;
		return 0;
	default:
		fprintf(stderr, "Run 'snug-agent run --help' for the options.\n");
		return -EINVAL;
	}
}

/* What no flag said: the node name from the downward API, the default paths, and the settings
 * derived from others. */
static int config_complete(struct agent_config *c)
{
	const char *env = getenv("NODE_NAME");

	if (!c->node_name && env && *env && dup_arg(&c->node_name, env) < 0)
		return -ENOMEM;
	if (!c->node_name) {
		fprintf(stderr, "snug-agent run: --node-name (or $NODE_NAME) is required\n");
		return -EINVAL;
	}
	if ((!c->cgroup_root && dup_arg(&c->cgroup_root, "/sys/fs/cgroup") < 0) ||
	    (!c->state_dir && dup_arg(&c->state_dir, "/var/lib/snug") < 0) ||
	    (!c->listen && dup_arg(&c->listen, ":9746") < 0))
		return -ENOMEM;
	if (rec_tunables_validate(&c->tunables) < 0) {
		fprintf(stderr, "snug-agent run: recommender settings are inconsistent\n");
		return -EINVAL;
	}
	/* One OOM bump: decide bumps a limit with the recommender's constants. */
	c->decide.oom_bump_ratio = c->tunables.oom_bump_up_ratio;
	c->decide.oom_min_bump_bytes = rec_amount_from_float(c->tunables.oom_min_bump_up_bytes);
	return 0;
}

int agent_config_parse(int argc, char **argv, struct agent_config *c)
{
	static const struct option options[] = {
		{ "node-name", required_argument, NULL, ARG_NODE_NAME },
		{ "kubeconfig", required_argument, NULL, ARG_KUBECONFIG },
		{ "cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT },
		{ "state-dir", required_argument, NULL, ARG_STATE_DIR },
		{ "listen", required_argument, NULL, ARG_LISTEN },
		{ "sample-interval", required_argument, NULL, ARG_SAMPLE_INTERVAL },
		{ "decide-interval", required_argument, NULL, ARG_DECIDE_INTERVAL },
		{ "checkpoint-interval", required_argument, NULL, ARG_CHECKPOINT_INTERVAL },
		{ "default-mode", required_argument, NULL, ARG_DEFAULT_MODE },
		{ "dry-run", no_argument, NULL, ARG_DRY_RUN },
		{ "max-cpu", required_argument, NULL, ARG_MAX_CPU },
		{ "max-memory", required_argument, NULL, ARG_MAX_MEMORY },
		{ "min-change", required_argument, NULL, ARG_MIN_CHANGE },
		{ "cooldown", required_argument, NULL, ARG_COOLDOWN },
		{ "no-bpf", no_argument, NULL, ARG_NO_BPF },
		{ "log-level", required_argument, NULL, ARG_LOG_LEVEL },
		{ "sampler", required_argument, NULL, ARG_SAMPLER },
		{ "test-half-life", required_argument, NULL, ARG_TEST_HALF_LIFE },
		{ "min-history", required_argument, NULL, ARG_MIN_HISTORY },
		{ "throttle-window", required_argument, NULL, ARG_THROTTLE_WINDOW },
		{ "max-evictions", required_argument, NULL, ARG_MAX_EVICTIONS },
		{ "eviction-interval", required_argument, NULL, ARG_EVICTION_INTERVAL },
		{ "pressure-lookahead", required_argument, NULL, ARG_PRESSURE_LOOKAHEAD },
		{ "node-refresh", required_argument, NULL, ARG_NODE_REFRESH },
		{ "hpa-refresh", required_argument, NULL, ARG_HPA_REFRESH },
		{ "history-interval", required_argument, NULL, ARG_HISTORY_INTERVAL },
		{ "admission-timeout", required_argument, NULL, ARG_ADMISSION_TIMEOUT },
		{ "api-only", no_argument, NULL, ARG_API_ONLY },
		{ "bypass-budget", required_argument, NULL, ARG_BYPASS_BUDGET },
		{ "psi-memory", required_argument, NULL, ARG_PSI_MEMORY },
		{ "psi-cpu", required_argument, NULL, ARG_PSI_CPU },
		{ "psi-window", required_argument, NULL, ARG_PSI_WINDOW },
		{ "rec", required_argument, NULL, ARG_REC },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char name[64];
	int opt, r, index;

	optind = 0;
	while ((index = -1, opt = getopt_long(argc, argv, "h", options, &index)) >= 0) {
		/* Messages name the flag as the user would look it up: --cooldown, not its value. */
		if (index >= 0)
			snprintf(name, sizeof(name), "--%s", options[index].name);
		else
			snprintf(name, sizeof(name), "%s", argv[optind - 1]);
		r = apply_option(c, opt, name, optarg);
		if (r != 0)
			return r;
	}
	if (optind < argc)
		return bad("argument", argv[optind], "run takes no positional arguments");
	return config_complete(c);
}
