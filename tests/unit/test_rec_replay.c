/* Replay tests: synthetic days of 1 Hz samples checked against an independent sort-based model, and the CLI. */
#include "tests/unit/unit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/recommender/replay.h"

#define MiB (1024LL * 1024)
#define DAY_SEC 86400LL
#define T0_SEC 1700000000LL

struct row {
	int64_t t;
	int64_t ucores; /* micro-cores, printed exactly */
	int64_t mem;
	int oom;
};

struct history {
	struct row *rows;
	size_t n;
	int64_t request;
};

enum shape { STEADY, DIURNAL, SPIKY, LEAK, OOM };

static unsigned lcg(unsigned *s)
{
	*s = *s * 1103515245 + 12345;
	return (*s >> 8) & 0xffff;
}

static void generate(enum shape shape, struct history *h)
{
	int days = shape == LEAK ? 3 : shape == DIURNAL || shape == OOM ? 2 : 1;
	unsigned seed = 7 + shape;

	h->n = (size_t)(days * DAY_SEC);
	h->rows = calloc(h->n, sizeof(struct row));
	h->request = shape == OOM ? 768 * MiB : 0;
	ck_assert_ptr_nonnull(h->rows);
	for (size_t i = 0; i < h->n; i++) {
		struct row *r = &h->rows[i];
		int64_t s = (int64_t)i;
		double phase = sin(2 * M_PI * (double)s / DAY_SEC);

		r->t = T0_SEC + s;
		switch (shape) {
		case STEADY:
			r->ucores = 250000 + (int64_t)lcg(&seed) % 40000 - 20000;
			r->mem = 200 * MiB + (int64_t)(lcg(&seed) % 10) * MiB;
			break;
		case DIURNAL:
			r->ucores = 200000 + (int64_t)(400000 * (1 + phase)) + lcg(&seed) % 50000;
			r->mem = 300 * MiB + (int64_t)(100 * MiB * (1 + phase));
			break;
		case SPIKY:
			r->ucores = s % 600 < 2 ? 4000000 : 100000;
			r->mem = s % 10800 == 5000 ? 1536 * MiB : 150 * MiB;
			break;
		case LEAK:
			r->ucores = 500000;
			r->mem = 100 * MiB + 2048 * MiB * s / (3 * DAY_SEC);
			break;
		case OOM: {
			int64_t period = 16 * 3600;

			r->ucores = 300000 + lcg(&seed) % 100000;
			r->mem = 100 * MiB + 924 * MiB * (s % period) / period;
			r->oom = s % period == period - 1;
			break;
		}
		}
	}
}

static FILE *write_csv(const struct history *h, bool header)
{
	FILE *f = tmpfile();

	ck_assert_ptr_nonnull(f);
	if (header)
		fprintf(f, "unix_seconds,cpu_cores,memory_bytes,oom\n");
	for (size_t i = 0; i < h->n; i++) {
		const struct row *r = &h->rows[i];

		fprintf(f, "%lld,%lld.%06lld,%lld,%d\n", (long long)r->t,
			(long long)(r->ucores / 1000000), (long long)(r->ucores % 1000000),
			(long long)r->mem, r->oom);
	}
	rewind(f);
	return f;
}

/* --- the independent model: plain lists of (value, decayed weight), sorted percentiles ---------- */

struct sample {
	double value;
	double weight;
};

static int cmp_sample(const void *a, const void *b)
{
	double x = ((const struct sample *)a)->value, y = ((const struct sample *)b)->value;

	return (x > y) - (x < y);
}

/* The smallest value whose cumulative weight reaches p of the total. */
static double weighted_percentile(struct sample *s, size_t n, double p)
{
	double total = 0, cum = 0;

	qsort(s, n, sizeof(*s), cmp_sample);
	for (size_t i = 0; i < n; i++)
		total += s[i].weight;
	p = fmin(fmax(p, 0.0), 1.0);
	for (size_t i = 0; i < n; i++) {
		cum += s[i].weight;
		if (cum >= p * total)
			return s[i].value;
	}
	return s[n - 1].value;
}

struct reference {
	struct sample *cpu, *mem;
	size_t ncpu, nmem;
	double confidence;
};

static void reference_model(const struct history *h, struct reference *ref)
{
	const double hl = DAY_SEC; /* half-life, seconds */
	int64_t minute = INT64_MIN, first_minute = 0, last_minute = 0;
	int64_t window_end = 0, usage_peak = 0, peak = 0;
	double sum = 0;
	int64_t count = 0;

	ref->cpu = calloc(h->n / 60 + 2, sizeof(struct sample));
	ref->mem = calloc(h->n / DAY_SEC + 3, sizeof(struct sample));
	ref->ncpu = ref->nmem = 0;
	for (size_t i = 0; i <= h->n; i++) {
		const struct row *r = i < h->n ? &h->rows[i] : NULL;
		int64_t m = r ? r->t / 60 : INT64_MAX;

		/* CPU: the mean of each minute, truncated to millicores. */
		if (count > 0 && m != minute) {
			double mean = sum / (double)count;
			int64_t millicores = (int64_t)(mean * 1000.0);

			if (ref->ncpu == 0)
				first_minute = minute;
			last_minute = minute;
			ref->cpu[ref->ncpu++] = (struct sample){
				millicores / 1000.0,
				0.1 * exp2((double)(minute - first_minute) * 60 / hl)
			};
			sum = 0;
			count = 0;
		}
		if (!r)
			break;
		minute = m;
		sum += (double)r->ucores / 1e6;
		count++;

		/* Memory: the peak of each 24 h window, stamped at the window's end. */
		if (i == 0)
			window_end = r->t + DAY_SEC;
		if (r->t >= window_end) {
			ref->mem[ref->nmem++] =
				(struct sample){ (double)peak,
						 exp2((double)(window_end - h->rows[0].t) / hl) };
			window_end += ((r->t - window_end) / DAY_SEC + 1) * DAY_SEC;
			peak = usage_peak = 0;
		}
		if (r->mem > usage_peak)
			usage_peak = r->mem;
		if (r->mem > peak)
			peak = r->mem;
		if (r->oom) {
			int64_t used = h->request > usage_peak ? h->request : usage_peak;
			int64_t bump = (int64_t)((double)used * 1.2);

			if (used + 100 * MiB > bump)
				bump = used + 100 * MiB;
			if (bump > peak)
				peak = bump;
		}
	}
	ref->mem[ref->nmem++] =
		(struct sample){ (double)peak, exp2((double)(window_end - h->rows[0].t) / hl) };
	ref->confidence =
		fmin((double)(last_minute - first_minute) * 60 / DAY_SEC, (double)ref->ncpu / 1440);
}

/* The histogram answers the end of the bucket holding the percentile's value: above it, and at most
 * one bucket (5 % + the first bucket's size) beyond. */
static void assert_within_bucket(const char *what, int64_t got, struct sample *s, size_t n,
				 double p, double mult, double unit, double first, int64_t min)
{
	double lo = weighted_percentile(s, n, p * (1 - 1e-9));
	double hi = weighted_percentile(s, n, fmin(p * (1 + 1e-9), 1.0));
	double want_lo = lo * 1.15 * mult * unit,
	       want_hi = (hi * 1.05 + first) * 1.15 * mult * unit;
	int64_t lo_i = (int64_t)floor(want_lo * (1 - 1e-9)) - 2, hi_i = (int64_t)ceil(want_hi) + 2;

	if (lo_i < min)
		lo_i = min;
	if (hi_i < min)
		hi_i = min;
	ck_assert_msg(got >= lo_i && got <= hi_i, "%s: got %lld, want [%lld, %lld]", what,
		      (long long)got, (long long)lo_i, (long long)hi_i);
}

static void check_shape(enum shape shape)
{
	struct history h;
	struct reference ref;
	struct rec_tunables t;
	struct rec_replay_options o = { .containers = 1 };
	struct rec_recommendation rec;
	char err[128];
	unsigned line;
	double up, low;
	FILE *f;

	generate(shape, &h);
	o.memory_request_bytes = h.request;
	f = write_csv(&h, shape != SPIKY);
	rec_tunables_init_default(&t);
	ck_assert_int_eq(rec_replay(f, &t, &o, &rec, &line, err, sizeof(err)), 0);
	fclose(f);

	reference_model(&h, &ref);
	/* T0 is not on a minute boundary: minutes are aligned on unix time. */
	ck_assert_int_eq(ref.ncpu, h.rows[h.n - 1].t / 60 - h.rows[0].t / 60 + 1);
	up = 1 + 1 / ref.confidence;
	low = pow(1 + 0.001 / ref.confidence, -2);
	assert_within_bucket("cpu target", rec.target.cpu_millicores, ref.cpu, ref.ncpu, 0.9, 1,
			     1000, 0.01, 25);
	assert_within_bucket("cpu lower", rec.lower.cpu_millicores, ref.cpu, ref.ncpu, 0.5, low,
			     1000, 0.01, 25);
	assert_within_bucket("cpu upper", rec.upper.cpu_millicores, ref.cpu, ref.ncpu, 0.95, up,
			     1000, 0.01, 25);
	assert_within_bucket("memory target", rec.target.memory_bytes, ref.mem, ref.nmem, 0.9, 1, 1,
			     1e7, 250 * MiB);
	assert_within_bucket("memory lower", rec.lower.memory_bytes, ref.mem, ref.nmem, 0.5, low, 1,
			     1e7, 250 * MiB);
	assert_within_bucket("memory upper", rec.upper.memory_bytes, ref.mem, ref.nmem, 0.95, up, 1,
			     1e7, 250 * MiB);
	free(ref.cpu);
	free(ref.mem);
	free(h.rows);
}

START_TEST(test_replay_steady)
{
	check_shape(STEADY);
}
END_TEST

START_TEST(test_replay_diurnal)
{
	check_shape(DIURNAL);
}
END_TEST

START_TEST(test_replay_spiky)
{
	check_shape(SPIKY);
}
END_TEST

START_TEST(test_replay_leak)
{
	check_shape(LEAK);
}
END_TEST

START_TEST(test_replay_oom)
{
	check_shape(OOM);
}
END_TEST

/* Runs the CLI; returns its exit status and what it wrote. */
static int run_cli(const char *args, char *out, size_t outsize, char *errout, size_t errsize)
{
	const char *agent = getenv("SNUG_AGENT");
	char cmd[1024], outp[] = "/tmp/snug-rec-out-XXXXXX", errp[] = "/tmp/snug-rec-err-XXXXXX";
	int fo = mkstemp(outp), fe = mkstemp(errp), status;
	FILE *f;
	size_t n;

	ck_assert_ptr_nonnull(agent);
	ck_assert(fo >= 0 && fe >= 0);
	close(fo);
	close(fe);
	snprintf(cmd, sizeof(cmd), "%s recommend %s >%s 2>%s", agent, args, outp, errp);
	status = system(cmd);
	f = fopen(outp, "re");
	n = fread(out, 1, outsize - 1, f);
	out[n] = '\0';
	fclose(f);
	f = fopen(errp, "re");
	n = fread(errout, 1, errsize - 1, f);
	errout[n] = '\0';
	fclose(f);
	unlink(outp);
	unlink(errp);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static char *save_csv(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/snug-rec-csv-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static double json_num(cJSON *o, const char *res, const char *key)
{
	cJSON *r = cJSON_GetObjectItemCaseSensitive(o, res);
	cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);

	ck_assert(cJSON_IsNumber(v));
	return v->valuedouble;
}

/* The command prints exactly what the library computes, in cores and bytes. */
START_TEST(test_cli_matches_library)
{
	struct history h;
	struct rec_tunables t;
	struct rec_replay_options o = { .containers = 2 };
	struct rec_recommendation rec;
	char out[512], err[512], args[256], path[] = "/tmp/snug-rec-csv-XXXXXX", eb[128];
	unsigned line;
	FILE *f, *w;
	int fd, c;
	cJSON *j;

	generate(OOM, &h);
	o.memory_request_bytes = h.request;
	f = write_csv(&h, true);
	fd = mkstemp(path);
	w = fdopen(fd, "w");
	while ((c = fgetc(f)) != EOF)
		fputc(c, w);
	fclose(w);
	rewind(f);
	rec_tunables_init_default(&t);
	ck_assert_int_eq(rec_replay(f, &t, &o, &rec, &line, eb, sizeof(eb)), 0);
	fclose(f);

	snprintf(args, sizeof(args), "--replay %s --containers 2 --memory-request %lld", path,
		 (long long)h.request);
	ck_assert_int_eq(run_cli(args, out, sizeof(out), err, sizeof(err)), 0);
	j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "not JSON: %s", out);
	ck_assert_int_eq(llround(json_num(j, "cpu", "target") * 1000), rec.target.cpu_millicores);
	ck_assert_int_eq(llround(json_num(j, "cpu", "lower") * 1000), rec.lower.cpu_millicores);
	ck_assert_int_eq(llround(json_num(j, "cpu", "upper") * 1000), rec.upper.cpu_millicores);
	ck_assert_int_eq((int64_t)json_num(j, "memory", "target"), rec.target.memory_bytes);
	ck_assert_int_eq((int64_t)json_num(j, "memory", "lower"), rec.lower.memory_bytes);
	ck_assert_int_eq((int64_t)json_num(j, "memory", "upper"), rec.upper.memory_bytes);
	/* The OOMs pushed memory above the 768 MiB request x 1.2. */
	ck_assert_int_ge(rec.target.memory_bytes, 768 * MiB * 12 / 10);
	cJSON_Delete(j);
	unlink(path);
	free(h.rows);
}
END_TEST

START_TEST(test_cli_small_exact)
{
	char out[512], err[512], args[256];
	char *p = save_csv("unix_seconds,cpu_cores,memory_bytes,oom\n"
			   "1700000000,0.5,100000000,0\n"
			   "1700000030,0.7,120000000,0\n"
			   "1700000065,1.2,90000000,0\n");

	snprintf(args, sizeof(args), "--replay %s", p);
	ck_assert_int_eq(run_cli(args, out, sizeof(out), err, sizeof(err)), 0);
	/* Minutes of 0.6 and 1.2 cores; p90 = end of 1.2's bucket (1.207) + 15 %; memory at the
	 * 250 MiB minimum; upper bounds x (1 + 1/conf) with one minute of history. */
	ck_assert_str_eq(out, "{\"cpu\":{\"target\":1.388,\"lower\":0.233,\"upper\":2000.108},"
			      "\"memory\":{\"target\":262144000,\"lower\":262144000,"
			      "\"upper\":208434544483}}\n");
	/* VPA's flags change the numbers the same way: no margin, no minimum. */
	snprintf(args, sizeof(args),
		 "--replay %s --recommendation-margin-fraction=0 "
		 "--pod-recommendation-min-cpu-millicores 0",
		 p);
	ck_assert_int_eq(run_cli(args, out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(out, "{\"cpu\":{\"target\":1.207,"));
	snprintf(args, sizeof(args), "--replay %s --target-cpu-percentile=2", p);
	ck_assert_int_eq(run_cli(args, out, sizeof(out), err, sizeof(err)), 2);
	ck_assert_ptr_nonnull(strstr(err, "target-cpu-percentile"));
	unlink(p);
}
END_TEST

START_TEST(test_cli_bad_rows)
{
	static const struct {
		const char *csv, *where, *what;
	} cases[] = {
		{ "unix_seconds,cpu_cores,memory_bytes,oom\n1,0.5,1,0\n2,abc,1,0\n",
		  ":3:", "cpu_cores" },
		{ "1,0.5,1,0\n2,0.5,1\n", ":2:", "4 columns" },
		{ "1,0.5,1,0\n\n2,-1,1,0\n", ":3:", "cpu_cores" },
		{ "1,0.5,1,2\n", ":1:", "oom" },
		{ "1,0.5,-5,0\n", ":1:", "memory_bytes" },
		{ "1,0.5,5,0\nx,0.5,5,0\n", ":2:", "unix_seconds" },
		{ "1,0.5,5,0,9\n", ":1:", "columns" },
	};
	char out[512], err[512], args[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = save_csv(cases[i].csv);

		snprintf(args, sizeof(args), "--replay %s", p);
		ck_assert_int_eq(run_cli(args, out, sizeof(out), err, sizeof(err)), 2);
		ck_assert_msg(strstr(err, p) && strstr(err, cases[i].where) &&
				      strstr(err, cases[i].what),
			      "case %zu: stderr '%s'", i, err);
		ck_assert_str_eq(out, "");
		unlink(p);
	}
	ck_assert_int_eq(run_cli("--replay /nonexistent.csv", out, sizeof(out), err, sizeof(err)),
			 2);
	ck_assert_int_eq(run_cli("--containers 0 --replay x", out, sizeof(out), err, sizeof(err)),
			 2);
	ck_assert_int_eq(run_cli("", out, sizeof(out), err, sizeof(err)), 2);
	ck_assert_int_eq(run_cli("--help", out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(out, "--replay"));
}
END_TEST

Suite *rec_replay_suite(void)
{
	Suite *s = suite_create("rec_replay");
	TCase *tc = tcase_create("replay");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_replay_steady);
	tcase_add_test(tc, test_replay_diurnal);
	tcase_add_test(tc, test_replay_spiky);
	tcase_add_test(tc, test_replay_leak);
	tcase_add_test(tc, test_replay_oom);
	tcase_add_test(tc, test_cli_matches_library);
	tcase_add_test(tc, test_cli_small_exact);
	tcase_add_test(tc, test_cli_bad_rows);
	suite_add_tcase(s, tc);
	return s;
}
