/* snug-agent webhook: the cluster-level component of the eviction fallback: the controller that
 * evicts the pods their node's agent asked to evict, and the mutating admission webhook that gives
 * the recreated pods their workload's merged recommendation; one sd-event loop, the admission
 * fails open on any error. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "agent/commands.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"
#include "agent/util/parse.h"
#include "agent/util/quantity.h"
#include "agent/util/time.h"
#include "agent/webhook_evictor.h"
#include "agent/webhook_server.h"

static void help(FILE *f)
{
	fprintf(f,
		"Usage: snug-agent webhook [OPTIONS]\n\n"
		"The cluster-level side of the eviction fallback. A controller watches the pods\n"
		"labelled snug.io/eviction-requested=true (asked by their node's snug-agent) and\n"
		"evicts them through the Eviction API (a PodDisruptionBudget's 429 is retried "
		"with\n"
		"backoff). An HTTPS mutating admission webhook (admission.k8s.io/v1) for pod "
		"CREATE\n"
		"gives a pod of a ReplicaSet, StatefulSet, DaemonSet or Job its workload's merged\n"
		"recommendation (WorkloadHistory entries; an older snug's snug.io/recommendation\n"
		"annotation on the owner when there are none), limits keeping their ratio to the\n"
		"requests and the pod's QoS class. Any error admits the pod unchanged.\n\n"
		"Serves POST /mutate, GET /healthz, GET /metrics.\n\n"
		"Options:\n"
		"  --listen ADDR:PORT     where to listen (default :8443; [::1]:N for IPv6)\n"
		"  --tls-cert FILE        server certificate, PEM (reloaded when it changes)\n"
		"  --tls-key FILE         server key, PEM (reloaded when it changes)\n"
		"  --kubeconfig FILE      API server access (default: in-cluster, then "
		"$KUBECONFIG,\n"
		"                         then ~/.kube/config)\n"
		"  --max-cpu QTY          never set a CPU request above this (e.g. 4, 1500m)\n"
		"  --max-memory QTY       never set a memory request above this (e.g. 8Gi)\n"
		"  --tls-check-interval S  how often the TLS files are checked (default 5)\n"
		"  --no-evict             admission only: no eviction controller\n"
		"  --eviction-backoff-min S  first retry of a blocked eviction (default 10)\n"
		"  --eviction-backoff-max S  longest retry delay (default 300)\n"
		"  --port-file FILE       write the bound port there once listening (tests)\n"
		"  --log-level LEVEL      error, warning, info (default), debug\n"
		"  -h, --help             this text\n");
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int write_port_file(const char *path, uint16_t port)
{
	_cleanup_free_ char *tmp = NULL;
	FILE *f;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	f = fopen(tmp, "we");
	if (!f)
		return negative_errno();
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return negative_errno();
	return 0;
}

/* What the command line asks for. */
struct webhook_cli {
	struct webhook_server_config server;
	const char *kubeconfig; /* NULL: in-cluster, then $KUBECONFIG, then ~/.kube/config */
	const char *port_file;
	bool no_evict;
	struct webhook_evictor_config evictor;
};

/* What runs, with webhook_daemon_done() freeing it in the one safe order. */
struct webhook_daemon {
	struct kube_config *kcfg;
	sd_event *event;
	struct webhook_server *server;
	struct kube_client *kube;
	/* The controller's own client: a label-selected pod watch and evictions, with the usual
	 * timeouts (the admission client's are 3 s). */
	struct kube_client *evictor_kube;
	struct webhook_evictor *evictor;
};

static void webhook_daemon_done(struct webhook_daemon *d)
{
	/* The kube client goes first: its pending callbacks must not run into a freed server. */
	d->evictor = webhook_evictor_free(d->evictor);
	d->evictor_kube = kube_client_free(d->evictor_kube);
	d->kube = kube_client_free(d->kube);
	d->server = webhook_server_free(d->server);
	d->event = sd_event_unref(d->event);
	d->kcfg = kube_config_free(d->kcfg);
}

/* --eviction-backoff-min/-max SECONDS. */
static int parse_backoff(bool min, const char *arg, struct webhook_evictor_config *cfg)
{
	double sec;

	if (safe_atod(arg, &sec) < 0 || !(sec >= 0.01 && sec <= 86400)) {
		fprintf(stderr, "snug-agent webhook: bad --eviction-backoff-%s '%s'\n",
			min ? "min" : "max", arg);
		return -EINVAL;
	}
	*(min ? &cfg->backoff_min_usec : &cfg->backoff_max_usec) = (uint64_t)(sec * USEC_PER_SEC);
	return 0;
}

/* Like systemd's parse_argv(): 1 to run, 0 after --help, -EINVAL after saying what is wrong. */
static int webhook_parse_argv(int argc, char **argv, struct webhook_cli *cli)
{
	enum {
		O_LISTEN = 256,
		O_CERT,
		O_KEY,
		O_KUBECONFIG,
		O_MAXCPU,
		O_MAXMEM,
		O_PORTFILE,
		O_LOG,
		O_TLSCHECK,
		O_NOEVICT,
		O_BACKOFF_MIN,
		O_BACKOFF_MAX
	};
	static const struct option options[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "tls-cert", required_argument, NULL, O_CERT },
		{ "tls-key", required_argument, NULL, O_KEY },
		{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
		{ "max-cpu", required_argument, NULL, O_MAXCPU },
		{ "max-memory", required_argument, NULL, O_MAXMEM },
		{ "port-file", required_argument, NULL, O_PORTFILE },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "tls-check-interval", required_argument, NULL, O_TLSCHECK },
		{ "no-evict", no_argument, NULL, O_NOEVICT },
		{ "eviction-backoff-min", required_argument, NULL, O_BACKOFF_MIN },
		{ "eviction-backoff-max", required_argument, NULL, O_BACKOFF_MAX },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct webhook_caps *caps = &cli->server.caps;
	double sec;
	int opt, r;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case O_LISTEN:
			cli->server.listen = optarg;
			break;
		case O_CERT:
			cli->server.cert_file = optarg;
			break;
		case O_KEY:
			cli->server.key_file = optarg;
			break;
		case O_KUBECONFIG:
			cli->kubeconfig = optarg;
			break;
		case O_MAXCPU:
			if (quantity_parse_cpu_millis(optarg, &caps->max_cpu) < 0 ||
			    caps->max_cpu <= 0) {
				fprintf(stderr, "snug-agent webhook: bad --max-cpu '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case O_MAXMEM:
			if (quantity_parse_bytes(optarg, &caps->max_memory) < 0 ||
			    caps->max_memory <= 0) {
				fprintf(stderr, "snug-agent webhook: bad --max-memory '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case O_PORTFILE:
			cli->port_file = optarg;
			break;
		case O_TLSCHECK:
			if (safe_atod(optarg, &sec) < 0 || !(sec >= 0.01 && sec <= 86400)) {
				fprintf(stderr,
					"snug-agent webhook: bad --tls-check-interval '%s'\n",
					optarg);
				return -EINVAL;
			}
			cli->server.reload_check_usec = (uint64_t)(sec * USEC_PER_SEC);
			break;
		case O_NOEVICT:
			cli->no_evict = true;
			break;
		case O_BACKOFF_MIN:
		case O_BACKOFF_MAX:
			if (parse_backoff(opt == O_BACKOFF_MIN, optarg, &cli->evictor) < 0)
				return -EINVAL;
			break;
		case O_LOG:
			r = log_level_from_string(optarg);
			if (r < 0) {
				fprintf(stderr, "snug-agent webhook: bad --log-level '%s'\n",
					optarg);
				return -EINVAL;
			}
			log_set_max_level(r);
			break;
		case 'h':
			help(stdout);
			return 0;
		default:
			help(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "snug-agent webhook: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!cli->server.cert_file || !cli->server.key_file) {
		fprintf(stderr,
			"snug-agent webhook: --tls-cert and --tls-key are required (the API "
			"server only calls webhooks over HTTPS)\n");
		return -EINVAL;
	}
	return 1;
}

/* API access, the HTTPS server on the default event loop, the port file, SIGTERM/SIGINT as the way
 * out. Logs what failed; the caller frees with webhook_daemon_done(). */
static int webhook_daemon_start(struct webhook_daemon *d, const struct webhook_cli *cli)
{
	static const struct kube_options kopts = {
		.component = "snug-webhook",
		/* The API server waits timeoutSeconds for us; answer (open) well before. */
		.request_timeout_usec = 3 * USEC_PER_SEC,
		.connect_timeout_usec = 2 * USEC_PER_SEC,
	};
	const struct webhook_server_config *cfg = &cli->server;
	sigset_t ss;
	int r;

	r = kube_config_load(cli->kubeconfig, &d->kcfg);
	if (r < 0)
		return log_error_errno(r,
				       "webhook: no API server access (kubeconfig/in-cluster): %m");
	r = sd_event_default(&d->event);
	if (r < 0)
		return log_error_errno(r, "webhook: sd_event: %m");
	r = kube_client_new(d->event, d->kcfg, &kopts, &d->kube);
	if (r < 0)
		return log_error_errno(r, "webhook: kube client: %m");
	r = webhook_server_new(d->event, d->kube, cfg, &d->server);
	if (r == -EBADMSG) {
		log_error("webhook: TLS key %s / certificate %s do not load", cfg->key_file,
			  cfg->cert_file);
		return r;
	}
	if (r < 0)
		return log_error_errno(r, "webhook: cannot serve on %s with %s and %s: %m",
				       cfg->listen, cfg->cert_file, cfg->key_file);
	if (!cli->no_evict) {
		static const struct kube_options eopts = {
			.component = "snug-webhook",
			.pod_label_selector = WEBHOOK_EVICTOR_SELECTOR,
		};

		r = kube_client_new(d->event, d->kcfg, &eopts, &d->evictor_kube);
		if (r >= 0)
			r = webhook_evictor_new(d->event, d->evictor_kube, &cli->evictor,
						&d->evictor);
		if (r < 0)
			return log_error_errno(r, "webhook: eviction controller: %m");
		webhook_server_set_evictions(d->server, webhook_evictor_stats(d->evictor));
	}
	if (cli->port_file) {
		r = write_port_file(cli->port_file, webhook_server_port(d->server));
		if (r < 0)
			return log_error_errno(r, "webhook: cannot write %s: %m", cli->port_file);
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if ((r = sd_event_add_signal(d->event, NULL, SIGTERM, on_signal, NULL)) < 0 ||
	    (r = sd_event_add_signal(d->event, NULL, SIGINT, on_signal, NULL)) < 0)
		return log_error_errno(r, "webhook: signals: %m");
	return 0;
}

int cmd_webhook(int argc, char **argv)
{
	struct webhook_cli cli = {
		.server = { .listen = ":8443", .caps = { RESOURCE_UNSET, RESOURCE_UNSET } },
	};
	_cleanup_(webhook_daemon_done) struct webhook_daemon d = {};
	int r;

	r = webhook_parse_argv(argc, argv, &cli);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	if (webhook_daemon_start(&d, &cli) < 0)
		return 1;
	log_info("webhook: listening on port %u (%s), caps cpu=%lldm memory=%lld",
		 webhook_server_port(d.server), cli.server.listen,
		 (long long)cli.server.caps.max_cpu, (long long)cli.server.caps.max_memory);
	(void)sd_notify(0, "READY=1");
	r = sd_event_loop(d.event);
	(void)sd_notify(0, "STOPPING=1");
	return r < 0 ? 1 : 0;
}
