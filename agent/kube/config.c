/* Finds the API server and credentials: in-cluster service account, or a kubeconfig (libyaml). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"
#include "agent/util/cleanup.h"
#include "agent/util/log.h"

struct kube_config *kube_config_free(struct kube_config *c)
{
	if (!c)
		return NULL;
	free(c->server);
	/* Secrets are wiped before they go back to the allocator. */
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->token_file);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data);
	if (c->key_data)
		explicit_bzero(c->key_data, c->key_data_len);
	free(c->key_data);
	free(c->namespace);
	free(c);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kube_config *, kube_config_free);

static int read_small_file(const char *path, char **ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t n;

	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	buf = malloc(65537);
	if (!buf)
		return -ENOMEM;
	n = fread(buf, 1, 65536, f);
	if (ferror(f))
		return -EIO;
	if (!feof(f))
		return -EFBIG;
	buf[n] = 0;
	/* Trailing newlines are common in token files and never part of the token. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = 0;
	*ret = TAKE_PTR(buf);
	return 0;
}

int kube_config_in_cluster(const char *sa_dir, struct kube_config **ret)
{
	_cleanup_(kube_config_freep) struct kube_config *c = NULL;
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	_cleanup_free_ char *token = NULL, *ns = NULL;
	int r;

	if (!sa_dir)
		sa_dir = KUBE_SA_DIR;
	if (!host || !*host || !port || !*port)
		return -ENXIO;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	/* An IPv6 service address needs brackets in a URL. */
	if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port) < 0)
		return -ENOMEM;
	if (asprintf(&c->token_file, "%s/token", sa_dir) < 0 ||
	    asprintf(&c->ca_file, "%s/ca.crt", sa_dir) < 0)
		return -ENOMEM;
	r = read_small_file(c->token_file, &token);
	if (r < 0)
		return log_debug_errno(r, "Cannot read %s: %m", c->token_file);
	explicit_bzero(token, strlen(token));
	if (access(c->ca_file, R_OK) < 0)
		return log_debug_errno(errno, "Cannot read %s: %m", c->ca_file);
	{
		_cleanup_free_ char *nsfile = NULL;

		if (asprintf(&nsfile, "%s/namespace", sa_dir) < 0)
			return -ENOMEM;
		if (read_small_file(nsfile, &ns) >= 0)
			c->namespace = TAKE_PTR(ns);
	}
	*ret = TAKE_PTR(c);
	return 0;
}

/* ---- a tiny view over libyaml's document model ---- */

static yaml_node_t *ymap_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE && strlen(key) == k->data.scalar.length &&
		    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* A scalar value as a C string (NULL when absent); -EINVAL when present but not a scalar. */
static int yscalar(yaml_document_t *doc, yaml_node_t *map, const char *key, const char **ret)
{
	yaml_node_t *n = ymap_get(doc, map, key);

	*ret = NULL;
	if (!n)
		return 0;
	if (n->type != YAML_SCALAR_NODE)
		return log_debug_errno(EINVAL, "kubeconfig: %s is not a scalar", key);
	/* libyaml NUL-terminates scalar values. */
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return log_debug_errno(EINVAL, "kubeconfig: %s contains a NUL byte", key);
	*ret = (const char *)n->data.scalar.value;
	return 0;
}

/* In a list of {name: X, <field>: {...}}, the <field> map of the entry named name. */
static yaml_node_t *ynamed(yaml_document_t *doc, yaml_node_t *root, const char *list,
			   const char *field, const char *name)
{
	yaml_node_t *seq = ymap_get(doc, root, list);

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		yaml_node_t *e = yaml_document_get_node(doc, *i);
		const char *n;

		if (yscalar(doc, e, "name", &n) < 0 || !n || strcmp(n, name) != 0)
			continue;
		e = ymap_get(doc, e, field);
		return e && e->type == YAML_MAPPING_NODE ? e : NULL;
	}
	return NULL;
}

static int resolve_path(const char *dir, const char *p, char **ret)
{
	if (p[0] == '/')
		*ret = strdup(p);
	else if (asprintf(ret, "%s/%s", dir, p) < 0)
		*ret = NULL;
	return *ret ? 0 : -ENOMEM;
}

static int take_data(const char *b64, const char *what, char **ret, size_t *ret_len)
{
	int r = kube_base64_decode(b64, ret, ret_len);

	if (r < 0)
		return log_debug_errno(r, "kubeconfig: %s is not valid base64", what);
	return 0;
}

/* An inline base64 field (certificate-authority-data, client-*-data) into *ret when present. */
static int ydata(yaml_document_t *doc, yaml_node_t *map, const char *key, char **ret,
		 size_t *ret_len)
{
	const char *s;

	if (yscalar(doc, map, key, &s) < 0)
		return -EINVAL;
	if (s && take_data(s, key, ret, ret_len) < 0)
		return -EINVAL;
	return 0;
}

/* A file field, relative to the kubeconfig's directory, into *ret when present and when the inline
 * data (have_data) does not take precedence. */
static int ypath(yaml_document_t *doc, yaml_node_t *map, const char *key, const char *dir,
		 bool have_data, char **ret)
{
	const char *s;

	if (yscalar(doc, map, key, &s) < 0)
		return -EINVAL;
	if (s && !have_data && resolve_path(dir, s, ret) < 0)
		return -ENOMEM;
	return 0;
}

/* The names the context points at: its cluster (required), user and namespace (either may be
 * NULL). context NULL = current-context. */
static int kubeconfig_context(yaml_document_t *doc, yaml_node_t *root, const char *path,
			      const char *context, const char **ret_cluster, const char **ret_user,
			      const char **ret_namespace)
{
	const char *ctxname = context, *cname, *uname, *ns;
	yaml_node_t *ctx;

	if (!ctxname && (yscalar(doc, root, "current-context", &ctxname) < 0 || !ctxname)) {
		log_debug("kubeconfig %s: no current-context", path);
		return -EINVAL;
	}
	ctx = ynamed(doc, root, "contexts", "context", ctxname);
	if (!ctx) {
		log_debug("kubeconfig %s: context \"%s\" not found", path, ctxname);
		return -EINVAL;
	}
	if (yscalar(doc, ctx, "cluster", &cname) < 0 || !cname ||
	    yscalar(doc, ctx, "user", &uname) < 0 || yscalar(doc, ctx, "namespace", &ns) < 0) {
		log_debug("kubeconfig %s: context \"%s\" lacks a cluster", path, ctxname);
		return -EINVAL;
	}
	*ret_cluster = cname;
	*ret_user = uname;
	*ret_namespace = ns;
	return 0;
}

/* The cluster entry: an https:// server (trailing slashes dropped), TLS verification always on,
 * and the CA inline or as a file. */
static int kubeconfig_cluster(yaml_document_t *doc, yaml_node_t *cluster, const char *path,
			      const char *dir, const char *cname, struct kube_config *c)
{
	const char *s;
	size_t l;
	int r;

	if (yscalar(doc, cluster, "server", &s) < 0 || !s || strncmp(s, "https://", 8) != 0) {
		/* Plain http would send the token in the clear: refuse it like missing TLS. */
		log_debug("kubeconfig %s: cluster \"%s\" needs an https:// server", path, cname);
		return -EINVAL;
	}
	c->server = strdup(s);
	if (!c->server)
		return -ENOMEM;
	l = strlen(c->server);
	while (l > 0 && c->server[l - 1] == '/')
		c->server[--l] = 0;
	if (yscalar(doc, cluster, "insecure-skip-tls-verify", &s) < 0)
		return -EINVAL;
	if (s && strcmp(s, "true") == 0) {
		log_debug("kubeconfig %s: insecure-skip-tls-verify is refused, TLS is always "
			  "verified",
			  path);
		return -EPERM;
	}
	r = ydata(doc, cluster, "certificate-authority-data", &c->ca_data, &c->ca_data_len);
	if (r < 0)
		return r;
	return ypath(doc, cluster, "certificate-authority", dir, c->ca_data, &c->ca_file);
}

/* The user entry: a token inline or as a file, and a client certificate with its key, each inline
 * or as a file; one of certificate and key without the other is refused. */
static int kubeconfig_user(yaml_document_t *doc, yaml_node_t *user, const char *path,
			   const char *dir, const char *uname, struct kube_config *c)
{
	const char *s;
	int r;

	if (yscalar(doc, user, "token", &s) < 0)
		return -EINVAL;
	if (s && !(c->token = strdup(s)))
		return -ENOMEM;
	r = ypath(doc, user, "tokenFile", dir, false, &c->token_file);
	if (r < 0)
		return r;
	r = ydata(doc, user, "client-certificate-data", &c->cert_data, &c->cert_data_len);
	if (r < 0)
		return r;
	r = ydata(doc, user, "client-key-data", &c->key_data, &c->key_data_len);
	if (r < 0)
		return r;
	r = ypath(doc, user, "client-certificate", dir, c->cert_data, &c->cert_file);
	if (r < 0)
		return r;
	r = ypath(doc, user, "client-key", dir, c->key_data, &c->key_file);
	if (r < 0)
		return r;
	if (!!(c->cert_data || c->cert_file) != !!(c->key_data || c->key_file)) {
		log_debug("kubeconfig %s: user \"%s\" has a client certificate without key "
			  "(or the reverse)",
			  path, uname);
		return -EINVAL;
	}
	return 0;
}

/* Fills c from the parsed document: the context, its cluster, namespace and user. */
static int kubeconfig_fill(yaml_document_t *doc, const char *path, const char *dir,
			   const char *context, struct kube_config *c)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *cluster, *user;
	const char *cname, *uname, *ns;
	int r;

	if (!root || root->type != YAML_MAPPING_NODE) {
		log_debug("kubeconfig %s: not a mapping", path);
		return -EINVAL;
	}
	r = kubeconfig_context(doc, root, path, context, &cname, &uname, &ns);
	if (r < 0)
		return r;
	cluster = ynamed(doc, root, "clusters", "cluster", cname);
	if (!cluster) {
		log_debug("kubeconfig %s: cluster \"%s\" not found", path, cname);
		return -EINVAL;
	}
	r = kubeconfig_cluster(doc, cluster, path, dir, cname, c);
	if (r < 0)
		return r;
	if (ns && !(c->namespace = strdup(ns)))
		return -ENOMEM;
	if (!uname)
		return 0;
	user = ynamed(doc, root, "users", "user", uname);
	if (!user) {
		log_debug("kubeconfig %s: user \"%s\" not found", path, uname);
		return -EINVAL;
	}
	return kubeconfig_user(doc, user, path, dir, uname, c);
}

static int kubeconfig_load_yaml(FILE *f, const char *path, yaml_document_t *ret)
{
	yaml_parser_t parser;
	bool loaded;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_file(&parser, f);
	loaded = yaml_parser_load(&parser, ret);
	if (!loaded)
		log_debug("kubeconfig %s: YAML error at line %zu: %s", path,
			  parser.problem_mark.line + 1, parser.problem ? parser.problem : "?");
	yaml_parser_delete(&parser);
	return loaded ? 0 : -EINVAL;
}

int kube_config_from_kubeconfig(const char *path, const char *context, struct kube_config **ret)
{
	_cleanup_(kube_config_freep) struct kube_config *c = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *pathdup = NULL;
	yaml_document_t doc;
	int r;

	f = fopen(path, "re");
	if (!f)
		return log_debug_errno(errno, "Cannot open kubeconfig %s: %m", path);
	pathdup = strdup(path);
	if (!pathdup)
		return -ENOMEM;
	r = kubeconfig_load_yaml(f, path, &doc);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	r = c ? kubeconfig_fill(&doc, path, dirname(pathdup), context, c) : -ENOMEM;
	yaml_document_delete(&doc);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int kube_config_load(const char *kubeconfig, struct kube_config **ret)
{
	_cleanup_free_ char *home = NULL;
	const char *env;
	int r;

	if (kubeconfig)
		return kube_config_from_kubeconfig(kubeconfig, NULL, ret);
	r = kube_config_in_cluster(NULL, ret);
	if (r != -ENXIO)
		return r;
	env = getenv("KUBECONFIG");
	if (env && *env) {
		/* KUBECONFIG may be a list; the first file is the one with the context. */
		_cleanup_free_ char *first = strndup(env, strcspn(env, ":"));

		if (!first)
			return -ENOMEM;
		return kube_config_from_kubeconfig(first, NULL, ret);
	}
	env = getenv("HOME");
	if (!env)
		return -ENXIO;
	if (asprintf(&home, "%s/.kube/config", env) < 0)
		return -ENOMEM;
	return kube_config_from_kubeconfig(home, NULL, ret);
}

int kube_base64_decode(const char *in, char **ret, size_t *ret_len)
{
	size_t n = strlen(in), o = 0;
	unsigned acc = 0;
	int bits = 0, pad = 0;
	char *out;

	out = malloc(n / 4 * 3 + 4);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		int v;

		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '+')
			v = 62;
		else if (ch == '/')
			v = 63;
		else if (ch == '=') {
			pad++;
			continue;
		} else if (ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t')
			continue;
		else {
			free(out);
			return -EINVAL;
		}
		if (pad) { /* data after padding */
			free(out);
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits >= 6 || pad > 2 || o == 0) {
		free(out);
		return -EINVAL;
	}
	out[o] = 0;
	*ret = out;
	*ret_len = o;
	return 0;
}
