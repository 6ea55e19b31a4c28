/* Kubernetes resource quantities to exact integers (millicores, bytes) and back, rounding as the API server does. */
#include "agent/util/quantity.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The parsed pieces of "<sign><int>.<frac><suffix>": digits stay in the caller's string so that any
 * length is parsed exactly, without allocation and without floating point. */
struct quantity_text {
	const char *int_digits;
	size_t n_int;
	const char *frac_digits;
	size_t n_frac;
	bool negative;
	int32_t exp10; /* from a decimal SI suffix or an e/E exponent */
	unsigned exp2; /* from a binary SI suffix (Ki = 10 … Ei = 60) */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_exponent(const char *s, int32_t *ret)
{
	bool neg = false;
	int64_t v = 0;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!is_digit(*s))
		return -EINVAL;
	for (; *s; s++) {
		if (!is_digit(*s))
			return -EINVAL;
		v = v * 10 + (*s - '0');
		/* The API server parses the exponent as int32; beyond that it rejects the text. */
		if (v > (int64_t)INT32_MAX + 1)
			return -EINVAL;
	}
	if (neg)
		v = -v;
	if (v > INT32_MAX || v < INT32_MIN)
		return -EINVAL;
	*ret = (int32_t)v;
	return 0;
}

static int parse_suffix(const char *s, struct quantity_text *q)
{
	static const struct {
		const char *name;
		int32_t exp10;
		unsigned exp2;
	} table[] = {
		{ "", 0, 0 },	 { "n", -9, 0 },  { "u", -6, 0 },  { "m", -3, 0 },
		{ "k", 3, 0 },	 { "M", 6, 0 },	  { "G", 9, 0 },   { "T", 12, 0 },
		{ "P", 15, 0 },	 { "E", 18, 0 },  { "Ki", 0, 10 }, { "Mi", 0, 20 },
		{ "Gi", 0, 30 }, { "Ti", 0, 40 }, { "Pi", 0, 50 }, { "Ei", 0, 60 },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(s, table[i].name) == 0) {
			q->exp10 = table[i].exp10;
			q->exp2 = table[i].exp2;
			return 0;
		}
	/* "E" alone is exa (matched above); "E3"/"e-3" is an exponent. */
	if (s[0] == 'e' || s[0] == 'E') {
		q->exp2 = 0;
		return parse_exponent(s + 1, &q->exp10);
	}
	return -EINVAL;
}

static int quantity_split(const char *s, struct quantity_text *ret)
{
	struct quantity_text q = {};
	int r;

	if (!s)
		return -EINVAL;
	if (*s == '+' || *s == '-')
		q.negative = *s++ == '-';
	q.int_digits = s;
	while (is_digit(*s))
		s++;
	q.n_int = (size_t)(s - q.int_digits);
	if (*s == '.') {
		s++;
		q.frac_digits = s;
		while (is_digit(*s))
			s++;
		q.n_frac = (size_t)(s - q.frac_digits);
	}
	/* The API server takes "." and "-" as zero; a quantity without a single digit is a typo here. */
	if (q.n_int + q.n_frac == 0)
		return -EINVAL;
	r = parse_suffix(s, &q);
	if (r < 0)
		return r;
	*ret = q;
	return 0;
}

static int quantity_digit(const struct quantity_text *q, int64_t i)
{
	if (i < 0)
		return 0;
	if ((uint64_t)i < q->n_int)
		return q->int_digits[i] - '0';
	if ((uint64_t)i < q->n_int + q->n_frac)
		return q->frac_digits[(uint64_t)i - q->n_int] - '0';
	return 0;
}

/* ceil(value × 10^unit_exp10) as int64, computed exactly on the digit string. */
static int quantity_parse_scaled(const char *s, int unit_exp10, int64_t *ret)
{
	struct quantity_text q;
	int64_t n_digits, point, first = -1, integer = 0, total;
	uint64_t mult, carry = 0;
	bool remainder = false;
	int r;

	r = quantity_split(s, &q);
	if (r < 0)
		return r;
	n_digits = (int64_t)(q.n_int + q.n_frac);
	for (int64_t i = 0; i < n_digits; i++)
		if (quantity_digit(&q, i) != 0) {
			first = i;
			break;
		}
	if (first < 0) {
		*ret = 0; /* zero, whatever its exponent or sign */
		return 0;
	}
	if (q.negative)
		return -EINVAL;

	/* Digits [0, point) are the integer part of the scaled value, the rest its fraction. */
	point = (int64_t)q.n_int + q.exp10 + unit_exp10;
	if (point - first > 19)
		return -ERANGE; /* ≥ 10^19 > INT64_MAX */
	for (int64_t i = first; i < point; i++)
		if (__builtin_mul_overflow(integer, 10, &integer) ||
		    __builtin_add_overflow(integer, quantity_digit(&q, i), &integer))
			return -ERANGE;

	/* fraction × 2^exp2 by schoolbook multiplication from the last digit: what carries past the point
	 * is its integer part, any digit left behind a remainder that rounds up. carry < 2^exp2 throughout,
	 * so d × 2^60 + carry < 10 × 2^60 fits in 64 bits. */
	mult = UINT64_C(1) << q.exp2;
	for (int64_t i = n_digits - 1; i >= point; i--) {
		uint64_t t;

		if (i < 0 && carry == 0)
			break; /* only leading zeros left: nothing more carries */
		t = (uint64_t)quantity_digit(&q, i) * mult + carry;
		if (t % 10 != 0)
			remainder = true;
		carry = t / 10;
	}

	if (q.exp2 > 0 && integer > (INT64_MAX >> q.exp2))
		return -ERANGE;
	total = integer << q.exp2;
	if (__builtin_add_overflow(total, (int64_t)carry, &total) ||
	    __builtin_add_overflow(total, (int64_t)remainder, &total))
		return -ERANGE;
	*ret = total;
	return 0;
}

int quantity_parse_cpu_millis(const char *s, int64_t *ret_millicores)
{
	return quantity_parse_scaled(s, 3, ret_millicores);
}

int quantity_parse_bytes(const char *s, int64_t *ret_bytes)
{
	return quantity_parse_scaled(s, 0, ret_bytes);
}

static int format_checked(char *buf, size_t size, int64_t v, const char *suffix)
{
	int n;

	if (!buf)
		return -EINVAL;
	n = snprintf(buf, size, "%" PRId64 "%s", v, suffix);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENOBUFS;
	return 0;
}

int quantity_format_cpu(int64_t millicores, char *buf, size_t size)
{
	if (millicores < 0)
		return -EINVAL;
	if (millicores % 1000 == 0)
		return format_checked(buf, size, millicores / 1000, "");
	return format_checked(buf, size, millicores, "m");
}

int quantity_format_bytes(int64_t bytes, char *buf, size_t size)
{
	static const char *const suffixes[] = { "Ei", "Pi", "Ti", "Gi", "Mi", "Ki" };

	if (bytes < 0)
		return -EINVAL;
	/* The largest binary unit that divides exactly, as the API server prints BinarySI. */
	for (unsigned i = 0; bytes > 0 && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		unsigned shift = 60 - 10 * i;
		int64_t unit = INT64_C(1) << shift;

		if (bytes % unit == 0)
			return format_checked(buf, size, bytes >> shift, suffixes[i]);
	}
	return format_checked(buf, size, bytes, "");
}
