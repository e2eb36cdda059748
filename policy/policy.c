/* policy/policy.c - presets, the table of fields and quiet hours. Pure. */
#include "policy/policy.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define GIB	(1024.0 * 1024 * 1024)
#define MIB	(1024.0 * 1024)
#define OFF(f)	offsetof(struct pol_policy, f)
#define SAME(v)	{ (v), (v), (v) }

/* Presets from DESIGN 6: default, aggressive, conservative. */
const struct pol_field pol_fields[] = {
	{ "preset", POL_T_SPECIAL, OFF(preset), 0, 0, SAME(0) },
	{ "check_interval_s", POL_T_INT, OFF(check_interval_s), 1, 86400,
	    { 300, 60, 1800 } },
	{ "imbalance_threshold", POL_T_NUM, OFF(imbalance_threshold), 0.0001,
	    1, { 0.10, 0.05, 0.20 } },
	{ "target_imbalance", POL_T_SPECIAL, OFF(target_imbalance), 0, 1,
	    SAME(0) },
	{ "max_concurrent_migrations", POL_T_INT,
	    OFF(max_concurrent_migrations), 1, 10000, { 3, 10, 1 } },
	{ "max_moves_per_cycle", POL_T_INT_OR_NULL, OFF(max_moves_per_cycle),
	    0, 1e9, { 1000, 10000, 100 } },
	{ "max_egress_bytes_per_cycle", POL_T_INT_OR_NULL,
	    OFF(max_egress_bytes_per_cycle), 0, 9007199254740992.0,
	    SAME(10 * GIB) },
	{ "max_cost_per_cycle", POL_T_NUM_OR_NULL, OFF(max_cost_per_cycle),
	    0, 1e12, SAME(100.0) },
	{ "gravity_protection_threshold", POL_T_NUM,
	    OFF(gravity_protection_threshold), 0, 1, SAME(0.9) },
	{ "gravity_weights", POL_T_SPECIAL, OFF(gravity_weights), 0, 0,
	    SAME(0) },
	{ "egress_prices_per_gib", POL_T_SPECIAL, OFF(egress_prices_per_gib),
	    0, 1e6, SAME(0) },
	{ "throttle_bytes_per_sec", POL_T_INT, OFF(throttle_bytes_per_sec), 1,
	    1099511627776.0, { 50 * MIB, 200 * MIB, 10 * MIB } },
	{ "validate_checksums", POL_T_BOOL, OFF(validate_checksums), 0, 1,
	    SAME(1) },
	{ "max_fill", POL_T_NUM, OFF(max_fill), 0, 1, SAME(0.9) },
	{ "failure_domain", POL_T_SPECIAL, OFF(failure_domain), 0, 0,
	    SAME(0) },
	{ "quiet_hours", POL_T_SPECIAL, OFF(quiet_hours), 0, 0, SAME(0) },
	{ "quiet_hours_pause_inflight", POL_T_BOOL,
	    OFF(quiet_hours_pause_inflight), 0, 1, SAME(0) },
	{ "min_residency_s", POL_T_INT, OFF(min_residency_s), 0, 31536000,
	    { 3600, 600, 86400 } },
	{ "node_cooldown_s", POL_T_INT, OFF(node_cooldown_s), 0, 2592000,
	    { 300, 0, 1800 } },
	{ "large_batch_bytes", POL_T_INT, OFF(large_batch_bytes), 1,
	    9007199254740992.0, SAME(GIB) },
};
const size_t pol_nfields = sizeof(pol_fields) / sizeof(pol_fields[0]);

/* Defaults of the link prices per GiB, by enum plc_link. */
static const double default_prices[PLC_LINK_N] = { 0, 0, 0, 0.02, 0.09 };

static const char *const preset_names[POL_PRESET_N] = {
	"default", "aggressive", "conservative",
};

const struct pol_field *
pol_field_find(const char *key)
{
	for (size_t i = 0; i < pol_nfields; i++)
		if (strcmp(pol_fields[i].key, key) == 0)
			return &pol_fields[i];
	return NULL;
}

int
pol_preset_parse(const char *name)
{
	for (int i = 0; i < POL_PRESET_N; i++)
		if (strcmp(name, preset_names[i]) == 0)
			return i;
	return -1;
}

const char *
pol_preset_name(int preset)
{
	return preset >= 0 && preset < POL_PRESET_N ? preset_names[preset] :
	    "unknown";
}

int
pol_preset_apply(struct pol_policy *p, int preset)
{
	if (preset < 0 || preset >= POL_PRESET_N)
		return -1;
	memset(p, 0, sizeof(*p));
	p->preset = preset;
	for (size_t i = 0; i < pol_nfields; i++) {
		const struct pol_field *f = &pol_fields[i];
		char *at = (char *)p + f->off;
		double v = f->def[preset];

		switch (f->type) {
		case POL_T_INT:
		case POL_T_INT_OR_NULL:
			*(int64_t *)(void *)at = (int64_t)v;
			break;
		case POL_T_NUM:
		case POL_T_NUM_OR_NULL:
			*(double *)(void *)at = v;
			break;
		case POL_T_BOOL:
			*(int *)(void *)at = v != 0;
			break;
		default:
			break;
		}
	}
	p->target_imbalance = p->imbalance_threshold * 0.5;
	p->gravity_preset = PLC_GRAVITY_DEFAULT;
	p->gravity_weights = *plc_gravity_preset(PLC_GRAVITY_DEFAULT);
	memcpy(p->egress_prices_per_gib, default_prices,
	    sizeof(default_prices));
	p->failure_domain = PLC_DOMAIN_HOST;
	p->n_quiet = 0;
	p->set = 0;
	return 0;
}

int
pol_quiet_window_contains(const struct pol_quiet *q, const struct tm *local)
{
	int m = local->tm_hour * 60 + local->tm_min;
	int today = local->tm_wday, yesterday = (local->tm_wday + 6) % 7;

	if (q->start_min < q->end_min)
		return (q->days & (1u << today)) &&
		    m >= q->start_min && m < q->end_min;
	/* Crosses midnight: the evening part belongs to today's window, the
	 * morning part to the window that started yesterday. */
	if (m >= q->start_min)
		return (q->days & (1u << today)) != 0;
	if (m < q->end_min)
		return (q->days & (1u << yesterday)) != 0;
	return 0;
}

int
pol_quiet_at(const struct pol_policy *p, time_t t, const struct pol_tz *tz,
    int *quiet, struct bl_err *err)
{
	*quiet = 0;
	for (size_t i = 0; i < p->n_quiet; i++) {
		const struct pol_quiet *q = &p->quiet_hours[i];
		struct tm local;

		if (tz == NULL || tz->localtime == NULL)
			return bl_err_set(err, BL_EINVAL, "quiet_hours[%zu]: "
			    "no time-zone conversion given", i);
		if (tz->localtime(t, q->tz, &local, tz->arg) < 0)
			return bl_err_set(err, BL_EINVAL, "quiet_hours[%zu].tz: "
			    "unknown time zone \"%s\"", i, q->tz);
		if (pol_quiet_window_contains(q, &local)) {
			*quiet = 1;
			return 0;
		}
	}
	return 0;
}
