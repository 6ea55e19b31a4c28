/* Unit tests for finding the API server: kubeconfig contexts, inline and file credentials, refusing
 * to turn TLS verification off, and the in-cluster service account. */
#include "tests/unit/unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/kube/kube-internal.h"
#include "agent/kube/kube.h"

static char dir[] = "/tmp/snug-kubeconfig-XXXXXX";

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(dir, "/tmp/snug-kubeconfig-XXXXXX");
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *text, const char *context, struct kube_config **ret)
{
	char path[256];

	write_file("config", text);
	snprintf(path, sizeof(path), "%s/config", dir);
	return kube_config_from_kubeconfig(path, context, ret);
}

/* "-----CA-----" and friends, base64 */
#define KUBECONFIG                                                                                 \
	"apiVersion: v1\n"                                                                         \
	"kind: Config\n"                                                                           \
	"current-context: dev\n"                                                                   \
	"clusters:\n"                                                                              \
	"- name: prod\n"                                                                           \
	"  cluster:\n"                                                                             \
	"    server: https://10.1.2.3:6443/\n"                                                     \
	"    certificate-authority: pki/ca.crt\n"                                                  \
	"- name: dev\n"                                                                            \
	"  cluster:\n"                                                                             \
	"    server: https://127.0.0.1:4443\n"                                                     \
	"    certificate-authority-data: LS0tLS1DQS0tLS0t\n"                                       \
	"contexts:\n"                                                                              \
	"- name: prod\n"                                                                           \
	"  context: {cluster: prod, user: robot, namespace: kube-system}\n"                        \
	"- name: dev\n"                                                                            \
	"  context:\n"                                                                             \
	"    cluster: dev\n"                                                                       \
	"    user: admin\n"                                                                        \
	"users:\n"                                                                                 \
	"- name: admin\n"                                                                          \
	"  user:\n"                                                                                \
	"    client-certificate-data: LS0tLS1DRVJULS0tLS0=\n"                                      \
	"    client-key-data: LS0tLS1LRVktLS0tLQ==\n"                                              \
	"- name: robot\n"                                                                          \
	"  user:\n"                                                                                \
	"    token: abc.def\n"                                                                     \
	"    client-certificate: /etc/robot.crt\n"                                                 \
	"    client-key: robot.key\n"

START_TEST(test_kubeconfig_current_context)
{
	struct kube_config *c = NULL;

	ck_assert_int_eq(load(KUBECONFIG, NULL, &c), 0);
	ck_assert_str_eq(c->server, "https://127.0.0.1:4443");
	ck_assert_uint_eq(c->ca_data_len, 12);
	ck_assert(memcmp(c->ca_data, "-----CA-----", 12) == 0);
	ck_assert_ptr_null(c->ca_file);
	ck_assert_str_eq(c->cert_data, "-----CERT-----");
	ck_assert_str_eq(c->key_data, "-----KEY-----");
	ck_assert_ptr_null(c->token);
	ck_assert_ptr_null(c->namespace);
	kube_config_free(c);
}
END_TEST

START_TEST(test_kubeconfig_named_context_files)
{
	struct kube_config *c = NULL;
	char want[300];

	ck_assert_int_eq(load(KUBECONFIG, "prod", &c), 0);
	/* trailing slash dropped: paths are appended to it */
	ck_assert_str_eq(c->server, "https://10.1.2.3:6443");
	snprintf(want, sizeof(want), "%s/pki/ca.crt", dir);
	ck_assert_str_eq(c->ca_file, want);
	ck_assert_str_eq(c->token, "abc.def");
	ck_assert_str_eq(c->cert_file, "/etc/robot.crt");
	snprintf(want, sizeof(want), "%s/robot.key", dir);
	ck_assert_str_eq(c->key_file, want);
	ck_assert_str_eq(c->namespace, "kube-system");
	kube_config_free(c);

	ck_assert_int_eq(load(KUBECONFIG, "staging", &c), -EINVAL);
}
END_TEST

START_TEST(test_kubeconfig_refusals)
{
	struct kube_config *c = NULL;

	ck_assert_int_eq(load("clusters:\n- name: x\n  cluster:\n    server: https://h\n"
			      "    insecure-skip-tls-verify: true\n"
			      "contexts:\n- name: x\n  context: {cluster: x}\ncurrent-context: x\n",
			      NULL, &c),
			 -EPERM);
	ck_assert_int_eq(load("clusters:\n- name: x\n  cluster:\n    server: http://h:8080\n"
			      "contexts:\n- name: x\n  context: {cluster: x}\ncurrent-context: x\n",
			      NULL, &c),
			 -EINVAL);
	/* no current-context */
	ck_assert_int_eq(load("clusters: []\n", NULL, &c), -EINVAL);
	/* broken YAML */
	ck_assert_int_eq(load("clusters: [\n  - {name: x\n", NULL, &c), -EINVAL);
	/* a list where a map belongs */
	ck_assert_int_eq(load("- a\n- b\n", NULL, &c), -EINVAL);
	/* server is a map, not a string */
	ck_assert_int_eq(load("clusters:\n- name: x\n  cluster:\n    server: {a: b}\n"
			      "contexts:\n- name: x\n  context: {cluster: x}\ncurrent-context: x\n",
			      NULL, &c),
			 -EINVAL);
	/* bad base64 */
	ck_assert_int_eq(load("clusters:\n- name: x\n  cluster:\n    server: https://h\n"
			      "    certificate-authority-data: '!!!'\n"
			      "contexts:\n- name: x\n  context: {cluster: x}\ncurrent-context: x\n",
			      NULL, &c),
			 -EINVAL);
	/* certificate without key */
	ck_assert_int_eq(load("clusters:\n- name: x\n  cluster:\n    server: https://h\n"
			      "users:\n- name: u\n  user: {client-certificate: a.crt}\n"
			      "contexts:\n- name: x\n  context: {cluster: x, user: u}\n"
			      "current-context: x\n",
			      NULL, &c),
			 -EINVAL);
	/* user named but missing */
	ck_assert_int_eq(load("clusters:\n- name: x\n  cluster:\n    server: https://h\n"
			      "contexts:\n- name: x\n  context: {cluster: x, user: ghost}\n"
			      "current-context: x\n",
			      NULL, &c),
			 -EINVAL);
	ck_assert_int_eq(kube_config_from_kubeconfig("/nonexistent/kubeconfig", NULL, &c), -ENOENT);
}
END_TEST

/* A one-cluster kubeconfig with the given context and users sections. */
#define ONE_CLUSTER(cluster_extra, context, users)                                                 \
	"clusters:\n- name: x\n  cluster:\n    server: https://h\n" cluster_extra                  \
	"contexts:\n- name: x\n  context: " context "\ncurrent-context: x\n" users

START_TEST(test_kubeconfig_lookups_and_precedence)
{
	struct kube_config *c = NULL;
	char want[300];

	/* The context's cluster is missing, or the context names none. */
	ck_assert_int_eq(load(ONE_CLUSTER("", "{cluster: y}", ""), NULL, &c), -EINVAL);
	ck_assert_int_eq(load(ONE_CLUSTER("", "{user: u}", ""), NULL, &c), -EINVAL);
	/* namespace present but not a string */
	ck_assert_int_eq(load(ONE_CLUSTER("", "{cluster: x, namespace: [a]}", ""), NULL, &c),
			 -EINVAL);
	/* a key without its certificate */
	ck_assert_int_eq(load(ONE_CLUSTER("", "{cluster: x, user: u}",
					  "users:\n- name: u\n  user: {client-key: a.key}\n"),
			      NULL, &c),
			 -EINVAL);
	/* bad base64 in the user's key */
	ck_assert_int_eq(load(ONE_CLUSTER("", "{cluster: x, user: u}",
					  "users:\n- name: u\n  user: {client-certificate-data: "
					  "LS0tLS1DRVJULS0tLS0=, client-key-data: '!!'}\n"),
			      NULL, &c),
			 -EINVAL);

	/* Inline data wins over a file of the same thing; a token file is found next to the
	 * kubeconfig. */
	ck_assert_int_eq(load(ONE_CLUSTER("    certificate-authority-data: LS0tLS1DQS0tLS0t\n"
					  "    certificate-authority: ca.crt\n",
					  "{cluster: x, user: u}",
					  "users:\n- name: u\n  user:\n    tokenFile: sa/token\n"
					  "    client-certificate-data: LS0tLS1DRVJULS0tLS0=\n"
					  "    client-certificate: c.crt\n"
					  "    client-key-data: LS0tLS1LRVktLS0tLQ==\n"
					  "    client-key: c.key\n"),
			      NULL, &c),
			 0);
	ck_assert_str_eq(c->server, "https://h");
	ck_assert_uint_eq(c->ca_data_len, 12);
	ck_assert_ptr_null(c->ca_file);
	ck_assert_str_eq(c->cert_data, "-----CERT-----");
	ck_assert_ptr_null(c->cert_file);
	ck_assert_str_eq(c->key_data, "-----KEY-----");
	ck_assert_ptr_null(c->key_file);
	ck_assert_ptr_null(c->token);
	snprintf(want, sizeof(want), "%s/sa/token", dir);
	ck_assert_str_eq(c->token_file, want);
	kube_config_free(c);
}
END_TEST

START_TEST(test_in_cluster)
{
	struct kube_config *c = NULL;
	char want[300];

	unsetenv("KUBERNETES_SERVICE_HOST");
	ck_assert_int_eq(kube_config_in_cluster(dir, &c), -ENXIO);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(kube_config_in_cluster(dir, &c), -ENOENT);
	write_file("token", "eyJhbGciOi.token\n");
	write_file("ca.crt", "-----BEGIN CERTIFICATE-----\n");
	write_file("namespace", "snug-system");
	ck_assert_int_eq(kube_config_in_cluster(dir, &c), 0);
	ck_assert_str_eq(c->server, "https://10.96.0.1:443");
	snprintf(want, sizeof(want), "%s/token", dir);
	ck_assert_str_eq(c->token_file, want);
	/* the token is read per request (it rotates), never stored in the config */
	ck_assert_ptr_null(c->token);
	snprintf(want, sizeof(want), "%s/ca.crt", dir);
	ck_assert_str_eq(c->ca_file, want);
	ck_assert_str_eq(c->namespace, "snug-system");
	kube_config_free(c);

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	ck_assert_int_eq(kube_config_in_cluster(dir, &c), 0);
	ck_assert_str_eq(c->server, "https://[fd00::1]:443");
	kube_config_free(c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}
END_TEST

START_TEST(test_base64)
{
	char *out;
	size_t n;

	ck_assert_int_eq(kube_base64_decode("aGVsbG8=", &out, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(out, "hello");
	free(out);
	ck_assert_int_eq(kube_base64_decode("aGVs\nbG8h", &out, &n), 0);
	ck_assert_str_eq(out, "hello!");
	free(out);
	ck_assert_int_eq(kube_base64_decode("aGVsbG8=x", &out, &n), -EINVAL);
	ck_assert_int_eq(kube_base64_decode("a", &out, &n), -EINVAL);
	ck_assert_int_eq(kube_base64_decode("", &out, &n), -EINVAL);
	ck_assert_int_eq(kube_base64_decode("a$b=", &out, &n), -EINVAL);
}
END_TEST

Suite *kube_config_suite(void)
{
	Suite *s = suite_create("kube_config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_kubeconfig_current_context);
	tcase_add_test(tc, test_kubeconfig_named_context_files);
	tcase_add_test(tc, test_kubeconfig_refusals);
	tcase_add_test(tc, test_kubeconfig_lookups_and_precedence);
	tcase_add_test(tc, test_in_cluster);
	tcase_add_test(tc, test_base64);
	suite_add_tcase(s, tc);
	return s;
}
