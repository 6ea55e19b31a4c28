/* A fake systemd manager on a private D-Bus connection: SetUnitProperties answered as PID 1 answers it, or held back like a busy PID 1. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define FAKE_SYSTEMD_MAX_PROPS 4

/* One SetUnitProperties call as it arrived. */
struct fake_systemd_call {
	char unit[256];
	bool runtime;
	size_t n_props;
	struct {
		char name[32];
		uint64_t value;
	} props[FAKE_SYSTEMD_MAX_PROPS];
	size_t answered_before; /* calls answered when this one arrived */
	bool answered;
};

struct fake_systemd;

/* Serves the manager on one end of a socket pair, attached to e; *ret_client is a connection to it
 * (the caller's reference; attached to no loop). units: the loaded units (NULL-terminated). */
struct fake_systemd *fake_systemd_new(sd_event *e, const char *const *units, sd_bus **ret_client);
void fake_systemd_free(struct fake_systemd *f);
/* hold: valid calls wait for fake_systemd_answer() instead of being answered at once. */
void fake_systemd_hold(struct fake_systemd *f, bool hold);
/* Answers the oldest held call; false when none is held. */
bool fake_systemd_answer(struct fake_systemd *f);
/* Closes the manager's end of the connection (PID 1 gone, the bus restarted). */
void fake_systemd_disconnect(struct fake_systemd *f);
size_t fake_systemd_n_calls(const struct fake_systemd *f);
size_t fake_systemd_n_held(const struct fake_systemd *f);
const struct fake_systemd_call *fake_systemd_call(const struct fake_systemd *f, size_t i);
/* The value property name had in call i; UINT64_MAX - 1 when the call did not set it (no property
 * snug sets takes that value). */
uint64_t fake_systemd_prop(const struct fake_systemd *f, size_t i, const char *name);
#define FAKE_SYSTEMD_NOT_SET (UINT64_MAX - 1)
