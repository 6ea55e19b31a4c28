/* A fake systemd manager on a private D-Bus connection: SetUnitProperties answered as PID 1 answers it, or held back like a busy PID 1. */
#include "tests/unit/fake_systemd.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-id128.h>

#define MAX_CALLS 32

struct fake_systemd {
	sd_bus *server;
	sd_bus_slot *object;
	char **units;
	bool hold;
	struct fake_systemd_call calls[MAX_CALLS];
	size_t n_calls, n_answered;
	sd_bus_message *held[MAX_CALLS]; /* in arrival order, the oldest at held_first */
	size_t held_first, n_held;
	size_t held_index[MAX_CALLS]; /* the call each held message is */
};

static bool unit_loaded(const struct fake_systemd *f, const char *name)
{
	for (char **u = f->units; *u; u++)
		if (strcmp(*u, name) == 0)
			return true;
	return false;
}

/* The checks systemd's bus_cgroup_set_property() (src/core/dbus-cgroup.c) makes of the four
 * properties snug sets, all of type "t"; any other property is refused as bus_unit_set_properties()
 * (src/core/dbus-unit.c) refuses one no vtable takes. */
static int check_property(const char *name, uint64_t v, sd_bus_error *error)
{
	if (strcmp(name, "MemoryMax") == 0) {
		/* bus_cgroup_set_memory(): 0 is refused, UINT64_MAX is "infinity". */
		if (v == 0)
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
						 "%s= is too small", name);
		return 0;
	}
	if (strcmp(name, "CPUQuotaPerSecUSec") == 0) {
		if (v == 0)
			return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
						"CPUQuotaPerSecUSec= value out of range");
		return 0;
	}
	if (strcmp(name, "CPUQuotaPeriodUSec") == 0)
		return 0; /* bus_cgroup_set_usec_clamp(): clamped, never refused */
	if (strcmp(name, "CPUWeight") == 0) {
		/* CGROUP_WEIGHT_IS_OK(): 1..10000, or UINT64_MAX for "unset". */
		if (v != UINT64_MAX && (v < 1 || v > 10000))
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
						 "Value specified in %s is out of range", name);
		return 0;
	}
	return sd_bus_error_setf(error, SD_BUS_ERROR_PROPERTY_READ_ONLY,
				 "Cannot set property %s, or unknown property.", name);
}

/* src/core/dbus-manager.c method_set_unit_properties(): the unit is loaded by name and must be
 * loaded (bus_unit_validate_load_state(): "Unit %s not found."), then bus_unit_method_set_properties()
 * reads the runtime flag and the (sv) array, checks every property before it sets any, and replies
 * with nothing. */
static int method_set_unit_properties(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct fake_systemd *f = userdata;
	struct fake_systemd_call *c;
	const char *unit, *name, *contents;
	int runtime, r;

	ck_assert_uint_lt(f->n_calls, MAX_CALLS);
	c = &f->calls[f->n_calls++];
	memset(c, 0, sizeof(*c));
	c->answered_before = f->n_answered;
	r = sd_bus_message_read(m, "s", &unit);
	if (r < 0)
		return r;
	snprintf(c->unit, sizeof(c->unit), "%s", unit);
	if (!unit_loaded(f, unit)) {
		c->answered = true;
		f->n_answered++;
		return sd_bus_error_setf(error, "org.freedesktop.systemd1.NoSuchUnit",
					 "Unit %s not found.", unit);
	}
	r = sd_bus_message_read(m, "b", &runtime);
	if (r < 0)
		return r;
	c->runtime = runtime;
	r = sd_bus_message_enter_container(m, 'a', "(sv)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
		uint64_t v;

		r = sd_bus_message_read(m, "s", &name);
		if (r < 0)
			return r;
		r = sd_bus_message_peek_type(m, NULL, &contents);
		if (r < 0)
			return r;
		if (strcmp(contents, "t") != 0) {
			c->answered = true;
			f->n_answered++;
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
						 "%s takes a \"t\"", name);
		}
		r = sd_bus_message_read(m, "v", "t", &v);
		if (r < 0)
			return r;
		r = check_property(name, v, error);
		if (r < 0) {
			c->answered = true;
			f->n_answered++;
			return r;
		}
		ck_assert_uint_lt(c->n_props, FAKE_SYSTEMD_MAX_PROPS);
		snprintf(c->props[c->n_props].name, sizeof(c->props[0].name), "%s", name);
		c->props[c->n_props++].value = v;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	if (f->hold) {
		size_t slot = (f->held_first + f->n_held) % MAX_CALLS;

		f->held[slot] = sd_bus_message_ref(m);
		f->held_index[slot] = f->n_calls - 1;
		f->n_held++;
		return 1; /* answered later */
	}
	c->answered = true;
	f->n_answered++;
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("SetUnitProperties", "sba(sv)", "", method_set_unit_properties,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

struct fake_systemd *fake_systemd_new(sd_event *e, const char *const *units, sd_bus **ret_client)
{
	struct fake_systemd *f = calloc(1, sizeof(*f));
	sd_bus *client = NULL;
	sd_id128_t id;
	size_t n = 0;
	int fds[2];

	ck_assert_ptr_nonnull(f);
	while (units[n])
		n++;
	f->units = calloc(n + 1, sizeof(char *));
	ck_assert_ptr_nonnull(f->units);
	for (size_t i = 0; i < n; i++)
		ck_assert_ptr_nonnull(f->units[i] = strdup(units[i]));

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds),
			 0);
	ck_assert_int_ge(sd_id128_randomize(&id), 0);
	ck_assert_int_ge(sd_bus_new(&f->server), 0);
	ck_assert_int_ge(sd_bus_set_fd(f->server, fds[0], fds[0]), 0);
	ck_assert_int_ge(sd_bus_set_server(f->server, 1, id), 0);
	ck_assert_int_ge(
		sd_bus_add_object_vtable(f->server, &f->object, "/org/freedesktop/systemd1",
					 "org.freedesktop.systemd1.Manager", manager_vtable, f),
		0);
	ck_assert_int_ge(sd_bus_start(f->server), 0);
	ck_assert_int_ge(sd_bus_attach_event(f->server, e, SD_EVENT_PRIORITY_NORMAL), 0);

	ck_assert_int_ge(sd_bus_new(&client), 0);
	ck_assert_int_ge(sd_bus_set_fd(client, fds[1], fds[1]), 0);
	ck_assert_int_ge(sd_bus_start(client), 0);
	*ret_client = client;
	return f;
}

void fake_systemd_free(struct fake_systemd *f)
{
	if (!f)
		return;
	while (f->n_held > 0) {
		sd_bus_message_unref(f->held[f->held_first]);
		f->held_first = (f->held_first + 1) % MAX_CALLS;
		f->n_held--;
	}
	sd_bus_slot_unref(f->object);
	sd_bus_flush_close_unref(f->server);
	for (char **u = f->units; *u; u++)
		free(*u);
	free(f->units);
	free(f);
}

void fake_systemd_hold(struct fake_systemd *f, bool hold)
{
	f->hold = hold;
}

bool fake_systemd_answer(struct fake_systemd *f)
{
	sd_bus_message *m;
	size_t i;

	if (f->n_held == 0)
		return false;
	m = f->held[f->held_first];
	i = f->held_index[f->held_first];
	f->held_first = (f->held_first + 1) % MAX_CALLS;
	f->n_held--;
	f->calls[i].answered = true;
	f->n_answered++;
	ck_assert_int_ge(sd_bus_reply_method_return(m, NULL), 0);
	sd_bus_message_unref(m);
	return true;
}

void fake_systemd_disconnect(struct fake_systemd *f)
{
	while (f->n_held > 0) {
		sd_bus_message_unref(f->held[f->held_first]);
		f->held_first = (f->held_first + 1) % MAX_CALLS;
		f->n_held--;
	}
	f->object = sd_bus_slot_unref(f->object);
	f->server = sd_bus_close_unref(f->server);
}

size_t fake_systemd_n_calls(const struct fake_systemd *f)
{
	return f->n_calls;
}

size_t fake_systemd_n_held(const struct fake_systemd *f)
{
	return f->n_held;
}

const struct fake_systemd_call *fake_systemd_call(const struct fake_systemd *f, size_t i)
{
	ck_assert_uint_lt(i, f->n_calls);
	return &f->calls[i];
}

uint64_t fake_systemd_prop(const struct fake_systemd *f, size_t i, const char *name)
{
	const struct fake_systemd_call *c = fake_systemd_call(f, i);

	for (size_t k = 0; k < c->n_props; k++)
		if (strcmp(c->props[k].name, name) == 0)
			return c->props[k].value;
	return FAKE_SYSTEMD_NOT_SET;
}
