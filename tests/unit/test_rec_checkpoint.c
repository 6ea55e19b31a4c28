/* Unit tests of recommender checkpoints: round trips, file names, bad files skipped, GC, kill mid-save. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/recommender/checkpoint.h"
#include "agent/recommender/recommender.h"

#define SEC REC_USEC_PER_SEC
#define MIN (60 * SEC)
#define HOUR REC_USEC_PER_HOUR
#define DAY (24 * HOUR)
#define MiB (1024LL * 1024)
#define T0 (1700000040LL * SEC)

static struct rec_tunables tun;
static const struct rec_identity ident = { "shop", "Deployment", "web", "nginx" };

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static char *make_dir(void)
{
	char tmpl[] = "/tmp/snug-rec-XXXXXX";
	char *d = mkdtemp(tmpl);

	ck_assert_ptr_nonnull(d);
	return strdup(d);
}

static void remove_dir(char *d)
{
	nftw(d, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
}

/* A history with weight in many buckets of both histograms, a few days long, with an OOM. */
static struct rec_aggregate *rich_aggregate(unsigned seed, int days)
{
	struct rec_aggregate *a;
	struct rec_container c;

	ck_assert_int_eq(rec_aggregate_new(&tun, T0, &a), 0);
	rec_container_init(&c, a);
	for (int64_t t = 0; t < days * DAY; t += MIN) {
		seed = seed * 1103515245 + 12345;
		rec_container_add_cpu_sample(&c, T0 + t, (seed >> 8) % 8000);
		rec_container_add_memory_sample(&c, T0 + t, (int64_t)((seed >> 4) % 4096) * MiB);
	}
	ck_assert_int_eq(rec_container_record_oom(&c, T0 + days * DAY - HOUR, 512 * MiB), 0);
	return a;
}

static void assert_same_history(const struct rec_aggregate *a, const struct rec_aggregate *b)
{
	const struct rec_decaying_histogram *ha[2] = { &a->cpu, &a->memory };
	const struct rec_decaying_histogram *hb[2] = { &b->cpu, &b->memory };

	ck_assert_int_eq(a->total_samples, b->total_samples);
	ck_assert_int_eq(a->first_sample_usec, b->first_sample_usec);
	ck_assert_int_eq(a->last_sample_usec, b->last_sample_usec);
	ck_assert_int_eq(a->last_oom_usec, b->last_oom_usec);
	ck_assert_int_eq(a->last_oom_memory_bytes, b->last_oom_memory_bytes);
	for (int i = 0; i < 2; i++) {
		double max = 0;

		ck_assert_int_eq(ha[i]->reference_usec, hb[i]->reference_usec);
		ck_assert_double_eq_tol(ha[i]->h.total_weight, hb[i]->h.total_weight,
					1e-12 * ha[i]->h.total_weight);
		for (int k = 0; k < ha[i]->h.options->num_buckets; k++)
			if (ha[i]->h.weights[k] > max)
				max = ha[i]->h.weights[k];
		/* Each bucket loses at most the rounding to 1/10000 of the largest one. */
		for (int k = 0; k < ha[i]->h.options->num_buckets; k++)
			ck_assert_double_le(fabs(ha[i]->h.weights[k] - hb[i]->h.weights[k]),
					    max / REC_MAX_CHECKPOINT_WEIGHT);
	}
}

START_TEST(test_round_trip)
{
	struct rec_aggregate *a, *b;
	struct rec_recommendation ra, rb;
	struct rec_identity *id;
	char *text;

	rec_tunables_init_default(&tun);
	a = rich_aggregate(1, 3);
	ck_assert_int_eq(rec_checkpoint_format(&ident, a, T0 + 3 * DAY, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "\"version\":\"v3\""));
	ck_assert_ptr_nonnull(strstr(text, "\"lastUpdateTime\":\"2023-11-17T22:14:00Z\""));
	ck_assert_int_eq(rec_checkpoint_parse(text, &tun, T0, &id, &b), 0);
	ck_assert_str_eq(id->namespace, "shop");
	ck_assert_str_eq(id->owner_kind, "Deployment");
	ck_assert_str_eq(id->owner_name, "web");
	ck_assert_str_eq(id->container, "nginx");
	assert_same_history(a, b);
	/* What a user sees is unchanged by a restart (within one bucket, in practice equal). */
	ck_assert_int_eq(rec_recommend(a, 1, &ra), 0);
	ck_assert_int_eq(rec_recommend(b, 1, &rb), 0);
	ck_assert_int_eq(ra.target.cpu_millicores, rb.target.cpu_millicores);
	ck_assert_int_eq(ra.target.memory_bytes, rb.target.memory_bytes);
	ck_assert_int_eq(ra.upper.memory_bytes, rb.upper.memory_bytes);
	ck_assert_int_eq(ra.lower.cpu_millicores, rb.lower.cpu_millicores);
	free(text);
	free(id);
	rec_aggregate_free(a);
	rec_aggregate_free(b);
}
END_TEST

START_TEST(test_round_trip_empty_and_fraction_times)
{
	struct rec_aggregate *a, *b;
	struct rec_identity *id;
	char *text;

	rec_tunables_init_default(&tun);
	ck_assert_int_eq(rec_aggregate_new(&tun, T0, &a), 0);
	ck_assert_int_eq(rec_checkpoint_format(&ident, a, T0, &text), 0);
	ck_assert_ptr_nonnull(strstr(text, "\"firstSampleStart\":null"));
	ck_assert_int_eq(rec_checkpoint_parse(text, &tun, T0, &id, &b), 0);
	ck_assert_int_eq(b->first_sample_usec, REC_TIME_ZERO);
	ck_assert(rec_decaying_histogram_is_empty(&b->cpu));
	free(text);
	free(id);
	rec_aggregate_free(b);
	/* Sub-second times survive (microseconds). */
	rec_aggregate_add_cpu_sample(a, T0 + 123456, 5);
	ck_assert_int_eq(rec_checkpoint_format(&ident, a, T0, &text), 0);
	ck_assert_int_eq(rec_checkpoint_parse(text, &tun, T0, &id, &b), 0);
	ck_assert_int_eq(b->first_sample_usec, T0 + 123456);
	free(text);
	free(id);
	rec_aggregate_free(a);
	rec_aggregate_free(b);
}
END_TEST

START_TEST(test_parse_rejects)
{
	static const struct {
		const char *text;
		int error;
	} cases[] = {
		{ "", -EBADMSG },
		{ "{\"version\":\"v3\",\"identity\":", -EBADMSG },
		{ "[]", -EBADMSG },
		{ "{\"version\":\"v4\"}", -EPROTONOSUPPORT },
		{ "{\"version\":3}", -EBADMSG },
		{ "{\"version\":\"v3\",\"identity\":{\"namespace\":\"a\",\"ownerKind\":\"b\","
		  "\"ownerName\":\"c\"}}",
		  -EBADMSG },
	};
	struct rec_aggregate *a, *b;
	struct rec_identity *id;
	char *text, *p;

	rec_tunables_init_default(&tun);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_int_eq(rec_checkpoint_parse(cases[i].text, &tun, T0, &id, &b),
				 cases[i].error);
	a = rich_aggregate(2, 1);
	ck_assert_int_eq(rec_checkpoint_format(&ident, a, T0, &text), 0);
	/* Another bucket layout is refused, not loaded into the wrong buckets. */
	p = strstr(text, "\"numBuckets\":176");
	ck_assert_ptr_nonnull(p);
	memcpy(p, "\"numBuckets\":177", 16);
	ck_assert_int_eq(rec_checkpoint_parse(text, &tun, T0, &id, &b), -EINVAL);
	memcpy(p, "\"numBuckets\":176", 16);
	ck_assert_int_eq(rec_checkpoint_parse(text, &tun, T0, &id, &b), 0);
	free(id);
	rec_aggregate_free(b);
	/* A truncated file is refused at every length. */
	for (size_t n = strlen(text); n-- > 0;) {
		text[n] = '\0';
		ck_assert_int_lt(rec_checkpoint_parse(text, &tun, T0, &id, &b), 0);
	}
	free(text);
	rec_aggregate_free(a);
}
END_TEST

START_TEST(test_file_names)
{
	const struct rec_identity odd = { "ns", "Stateful_Set", "a/b", ".x%" };
	char longname[300], other[300], buf[256], buf2[256];
	struct rec_identity l1 = { "ns", "Deployment", longname, "c" };
	struct rec_identity l2 = { "ns", "Deployment", other, "c" };
	const struct rec_identity empty = { "ns", "", "x", "c" };

	ck_assert_int_eq(rec_identity_file_name(&ident, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "shop_Deployment_web_nginx.json");
	ck_assert_int_eq(rec_identity_file_name(&odd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "ns_Stateful%5FSet_a%2Fb_.x%25.json");
	memset(longname, 'a', 253);
	longname[253] = '\0';
	memcpy(other, longname, 254);
	other[252] = 'b';
	ck_assert_int_eq(rec_identity_file_name(&l1, buf, sizeof(buf)), 0);
	ck_assert_int_eq(rec_identity_file_name(&l2, buf2, sizeof(buf2)), 0);
	ck_assert_int_le(strlen(buf), 255);
	ck_assert_str_ne(buf, buf2);
	ck_assert_ptr_null(strchr(buf, '/'));
	ck_assert_int_eq(rec_identity_file_name(&empty, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(rec_identity_file_name(&ident, buf, 8), -ENOBUFS);
}
END_TEST

struct collected {
	int loaded;
	int failed;
	int errors[8];
	char names[8][64];
	int64_t samples[8];
};

static int on_loaded(const struct rec_identity *id, struct rec_aggregate *a, void *userdata)
{
	struct collected *c = userdata;

	if (c->loaded < 8)
		c->samples[c->loaded] = a->total_samples;
	c->loaded++;
	rec_aggregate_free(a);
	return 0;
}

static void on_failed(const char *name, int error, void *userdata)
{
	struct collected *c = userdata;

	if (c->failed < 8) {
		c->errors[c->failed] = error;
		snprintf(c->names[c->failed], sizeof(c->names[0]), "%s", name);
	}
	c->failed++;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_store_save_load_skip_bad)
{
	char *dir = make_dir(), sub[512];
	struct rec_store *s;
	struct rec_aggregate *a, *b;
	struct collected c = { 0 };
	const struct rec_identity other = { "shop", "Deployment", "api", "app" };
	int n;

	rec_tunables_init_default(&tun);
	/* The state directory is created when missing. */
	snprintf(sub, sizeof(sub), "%s/var/lib/snug", dir);
	ck_assert_int_eq(rec_store_open(sub, &s), 0);
	a = rich_aggregate(3, 2);
	ck_assert_int_eq(rec_checkpoint_save(s, &ident, a, T0 + 2 * DAY), 0);
	/* Saving again replaces the file. */
	ck_assert_int_eq(rec_checkpoint_save(s, &ident, a, T0 + 2 * DAY), 0);
	ck_assert_int_eq(rec_checkpoint_load(s, &ident, &tun, T0, &b), 0);
	assert_same_history(a, b);
	rec_aggregate_free(b);
	ck_assert_int_eq(rec_checkpoint_load(s, &other, &tun, T0, &b), -ENOENT);

	write_file(sub, "corrupt.json", "{\"version\":\"v3\",\"identity\":{\"names");
	write_file(sub, "future.json", "{\"version\":\"v9\",\"identity\":{}}");
	write_file(sub, ".tmp-1-1", "{");
	write_file(sub, "README", "not a checkpoint");
	n = rec_checkpoint_load_all(s, &tun, T0, on_loaded, on_failed, &c);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(c.loaded, 1);
	ck_assert_int_eq(c.samples[0], a->total_samples);
	ck_assert_int_eq(c.failed, 2);
	for (int i = 0; i < 2; i++) {
		if (strcmp(c.names[i], "corrupt.json") == 0)
			ck_assert_int_eq(c.errors[i], -EBADMSG);
		else {
			ck_assert_str_eq(c.names[i], "future.json");
			ck_assert_int_eq(c.errors[i], -EPROTONOSUPPORT);
		}
	}
	ck_assert_int_eq(rec_checkpoint_remove(s, &ident), 0);
	ck_assert_int_eq(rec_checkpoint_load(s, &ident, &tun, T0, &b), -ENOENT);
	rec_aggregate_free(a);
	rec_store_free(s);
	remove_dir(dir);
}
END_TEST

START_TEST(test_batch)
{
	char *dir = make_dir();
	struct rec_store *s;
	struct rec_checkpoint_batch *b;
	struct rec_aggregate *a, *l;
	struct collected c = { 0 };
	char name[16];
	struct rec_identity id = { "shop", "StatefulSet", name, "db" };

	rec_tunables_init_default(&tun);
	ck_assert_int_eq(rec_store_open(dir, &s), 0);
	a = rich_aggregate(4, 1);
	ck_assert_int_eq(rec_checkpoint_batch_new(s, &b), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "db-%d", i);
		ck_assert_int_eq(rec_checkpoint_batch_add(b, &id, a, T0), 0);
	}
	/* Nothing is visible before the commit. */
	ck_assert_int_eq(rec_checkpoint_load_all(s, &tun, T0, on_loaded, on_failed, &c), 0);
	ck_assert_int_eq(rec_checkpoint_batch_commit(b), 100);
	ck_assert_int_eq(rec_checkpoint_batch_commit(b), 0);
	rec_checkpoint_batch_free(b);
	ck_assert_int_eq(rec_checkpoint_load_all(s, &tun, T0, on_loaded, on_failed, &c), 100);
	ck_assert_int_eq(c.failed, 0);
	snprintf(name, sizeof(name), "db-%d", 42);
	ck_assert_int_eq(rec_checkpoint_load(s, &id, &tun, T0, &l), 0);
	assert_same_history(a, l);
	rec_aggregate_free(l);
	/* An abandoned batch leaves no temp files behind. */
	ck_assert_int_eq(rec_checkpoint_batch_new(s, &b), 0);
	ck_assert_int_eq(rec_checkpoint_batch_add(b, &id, a, T0), 0);
	rec_checkpoint_batch_free(b);
	ck_assert_int_eq(rec_checkpoint_gc(s, INT64_MAX / 2, INT64_MAX), 0);
	rec_aggregate_free(a);
	rec_store_free(s);
	remove_dir(dir);
}
END_TEST

static void set_mtime(const char *dir, const char *name, time_t when)
{
	char path[512];
	struct timespec ts[2] = { { .tv_sec = when }, { .tv_sec = when } };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

START_TEST(test_gc)
{
	char *dir = make_dir();
	struct rec_store *s;
	struct rec_aggregate *a;
	const struct rec_identity old = { "shop", "Deployment", "gone", "app" };
	time_t now = time(NULL);
	int64_t now_usec = (int64_t)now * SEC;

	rec_tunables_init_default(&tun);
	ck_assert_int_eq(rec_store_open(dir, &s), 0);
	ck_assert_int_eq(rec_aggregate_new(&tun, T0, &a), 0);
	ck_assert_int_eq(rec_checkpoint_save(s, &ident, a, now_usec), 0);
	ck_assert_int_eq(rec_checkpoint_save(s, &old, a, now_usec), 0);
	write_file(dir, ".tmp-9-9", "{");
	write_file(dir, ".tmp-9-10", "{");
	write_file(dir, "keep.txt", "x");
	set_mtime(dir, "shop_Deployment_gone_app.json", now - 9 * 86400);
	set_mtime(dir, ".tmp-9-9", now - 3600);
	set_mtime(dir, "keep.txt", now - 30 * 86400);
	ck_assert_int_eq(rec_checkpoint_gc(s, now_usec, rec_tunables_history_window_usec(&tun)), 2);
	ck_assert(exists(dir, "shop_Deployment_web_nginx.json"));
	ck_assert(!exists(dir, "shop_Deployment_gone_app.json"));
	ck_assert(!exists(dir, ".tmp-9-9"));
	/* A fresh temp file may be a save in progress. */
	ck_assert(exists(dir, ".tmp-9-10"));
	ck_assert(exists(dir, "keep.txt"));
	rec_aggregate_free(a);
	rec_store_free(s);
	remove_dir(dir);
}
END_TEST

/* SIGKILL a process that saves checkpoints in a loop at random moments: every file that exists
 * afterwards must be a complete checkpoint, either the old or the new one. */
START_TEST(test_kill_mid_save)
{
	char *dir = make_dir();
	struct rec_aggregate *versions[2];
	unsigned seed = 42;

	rec_tunables_init_default(&tun);
	/* Large states (a week each) with distinguishable sample counts. */
	versions[0] = rich_aggregate(5, 7);
	versions[1] = rich_aggregate(6, 6);
	ck_assert_int_ne(versions[0]->total_samples, versions[1]->total_samples);

	for (int round = 0; round < 40; round++) {
		struct collected c = { 0 };
		struct rec_store *s;
		struct timespec delay;
		pid_t pid;
		int status, n;

		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			if (rec_store_open(dir, &s) < 0)
				_exit(1);
			for (unsigned i = 0;; i++) {
				char ns[16];
				struct rec_identity id = ident;

				snprintf(ns, sizeof(ns), "ns%u", i % 4);
				id.namespace = ns;
				if (i % 8 < 4) {
					if (rec_checkpoint_save(s, &id, versions[i % 2], T0) < 0)
						_exit(1);
				} else {
					/* Batches too: all four identities, one sync. */
					struct rec_checkpoint_batch *b;

					if (rec_checkpoint_batch_new(s, &b) < 0)
						_exit(1);
					for (unsigned k = 0; k < 4; k++) {
						snprintf(ns, sizeof(ns), "ns%u", k);
						if (rec_checkpoint_batch_add(
							    b, &id, versions[i % 2], T0) < 0)
							_exit(1);
					}
					if (rec_checkpoint_batch_commit(b) != 4)
						_exit(1);
					rec_checkpoint_batch_free(b);
				}
			}
		}
		seed = seed * 1103515245 + 12345;
		delay = (struct timespec){ .tv_nsec = 1000000 + (seed >> 8) % 20000000 };
		nanosleep(&delay, NULL);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		/* Killed, not failed on its own. */
		ck_assert(WIFSIGNALED(status));

		ck_assert_int_eq(rec_store_open(dir, &s), 0);
		n = rec_checkpoint_load_all(s, &tun, T0, on_loaded, on_failed, &c);
		ck_assert_int_eq(c.failed, 0);
		ck_assert_int_eq(n, c.loaded);
		ck_assert_int_le(n, 4);
		for (int i = 0; i < n; i++)
			ck_assert(c.samples[i] == versions[0]->total_samples ||
				  c.samples[i] == versions[1]->total_samples);
		rec_store_free(s);
	}
	rec_aggregate_free(versions[0]);
	rec_aggregate_free(versions[1]);
	remove_dir(dir);
}
END_TEST

Suite *rec_checkpoint_suite(void)
{
	Suite *s = suite_create("rec_checkpoint");
	TCase *tc = tcase_create("checkpoint");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_round_trip_empty_and_fraction_times);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_file_names);
	tcase_add_test(tc, test_store_save_load_skip_bad);
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_gc);
	tcase_add_test(tc, test_kill_mid_save);
	suite_add_tcase(s, tc);
	return s;
}
