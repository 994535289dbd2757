/*
 * delivery.c: outcome classification and retry backoff (delivery.h).
 */
#include "delivery.h"

#include <string.h>

const char *
delivery_state_to_text(enum delivery_state s)
{
	switch (s) {
	case DELIVERY_SENT:
		return "sent";
	case DELIVERY_DEFERRED:
		return "deferred";
	case DELIVERY_BOUNCED:
		return "bounced";
	case DELIVERY_FAILED:
		return "failed";
	}
	return "deferred";
}

static bool
is_hard(int code, const char *enh)
{
	if (enh != NULL && enh[0] != '\0')
		return strncmp(enh, "5.1.", 4) == 0 ||
		       strcmp(enh, "5.2.1") == 0;
	return code == 550 || code == 551 || code == 553;
}

enum delivery_state
delivery_classify(
    int outcome, bool rcpt_stage, int code, const char *enh, bool *hard_bounce)
{
	if (hard_bounce != NULL)
		*hard_bounce = false;
	switch (outcome) {
	case DELIVERY_OUT_SENT:
		return DELIVERY_SENT;
	case DELIVERY_OUT_PERMFAIL:
		if (hard_bounce != NULL && rcpt_stage && code >= 500 &&
		    code <= 599)
			*hard_bounce = is_hard(code, enh);
		return DELIVERY_BOUNCED;
	case DELIVERY_OUT_REJECTED:
		return DELIVERY_FAILED;
	default:
		return DELIVERY_DEFERRED;
	}
}

int
delivery_backoff(int base, int attempts, int cap)
{
	long long d;

	if (base < 1)
		base = 1;
	if (cap < base)
		cap = base;
	d = base;
	for (int i = 1; i < attempts && d < cap; i++)
		d *= 2;
	return d > cap ? cap : (int)d;
}
