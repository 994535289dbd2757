/*
 * test_sched.c: the dispatcher's pure rules (delivery.c): which state a
 * worker's result leads to, which 5xx replies are hard bounces (and only
 * to RCPT TO), and the exponential backoff with its cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "delivery.h"

static void
test_classify_outcomes(void **state)
{
	bool hard = true;

	(void)state;
	assert_int_equal(
	    delivery_classify(DELIVERY_OUT_SENT, true, 250, "2.0.0", &hard),
	    DELIVERY_SENT);
	assert_false(hard);
	assert_int_equal(
	    delivery_classify(DELIVERY_OUT_TEMPFAIL, true, 451, "4.3.0", &hard),
	    DELIVERY_DEFERRED);
	assert_false(hard);
	/* no reply at all (connection refused, worker died) */
	assert_int_equal(
	    delivery_classify(DELIVERY_OUT_TEMPFAIL, false, 0, "", &hard),
	    DELIVERY_DEFERRED);
	assert_int_equal(
	    delivery_classify(DELIVERY_OUT_REJECTED, false, 0, "", &hard),
	    DELIVERY_FAILED);
	assert_false(hard);
	/* unknown outcome: never lose the message */
	assert_int_equal(delivery_classify(99, true, 550, "5.1.1", &hard),
	    DELIVERY_DEFERRED);
	assert_false(hard);
	assert_int_equal(
	    delivery_classify(DELIVERY_OUT_PERMFAIL, true, 550, "5.1.1", NULL),
	    DELIVERY_BOUNCED);
}

static void
test_hard_bounces(void **state)
{
	static const struct {
		int code;
		const char *enh;
		bool rcpt;
		bool hard;
	} c[] = {
	    {550, "5.1.1", true, true},   /* no such user */
	    {550, "5.1.2", true, true},   /* bad domain */
	    {553, "5.1.3", true, true},   /* bad syntax */
	    {551, "5.1.6", true, true},   /* moved */
	    {550, "5.1.10", true, true},  /* null MX */
	    {550, "5.2.1", true, true},   /* mailbox disabled */
	    {552, "5.2.2", true, false},  /* full: soft */
	    {550, "5.7.1", true, false},  /* policy */
	    {554, "5.7.0", true, false},  /* spam */
	    {550, "5.1.1", false, false}, /* to DATA: not the address */
	    {550, "", true, true},        /* bare 550 to RCPT */
	    {551, "", true, true},
	    {553, "", true, true},
	    {554, "", true, false},
	    {552, "", true, false},
	    {550, "", false, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		bool hard = !c[i].hard;
		assert_int_equal(delivery_classify(DELIVERY_OUT_PERMFAIL,
				     c[i].rcpt, c[i].code, c[i].enh, &hard),
		    DELIVERY_BOUNCED);
		if (hard != c[i].hard)
			fail_msg("%d %s rcpt=%d: hard=%d", c[i].code, c[i].enh,
			    c[i].rcpt, hard);
	}
	/* NULL enh is "none" */
	{
		bool hard = false;
		(void)delivery_classify(
		    DELIVERY_OUT_PERMFAIL, true, 550, NULL, &hard);
		assert_true(hard);
	}
}

static void
test_backoff(void **state)
{
	(void)state;
	assert_int_equal(delivery_backoff(60, 1, 3600), 60);
	assert_int_equal(delivery_backoff(60, 0, 3600), 60);
	assert_int_equal(delivery_backoff(60, -5, 3600), 60);
	assert_int_equal(delivery_backoff(60, 2, 3600), 120);
	assert_int_equal(delivery_backoff(60, 3, 3600), 240);
	assert_int_equal(delivery_backoff(60, 6, 3600), 1920);
	assert_int_equal(delivery_backoff(60, 7, 3600), 3600);
	assert_int_equal(delivery_backoff(60, 1000, 3600), 3600);
	assert_int_equal(delivery_backoff(60, INT_MAX, 3600), 3600);
	/* base above the cap: the base wins */
	assert_int_equal(delivery_backoff(7200, 1, 3600), 7200);
	assert_int_equal(delivery_backoff(7200, 9, 3600), 7200);
	/* base clamped to 1 */
	assert_int_equal(delivery_backoff(0, 1, 3600), 1);
	assert_int_equal(delivery_backoff(1, 4, 3600), 8);
	assert_int_equal(delivery_backoff(86400, 50, 86400), 86400);
}

static void
test_state_text(void **state)
{
	(void)state;
	assert_string_equal(delivery_state_to_text(DELIVERY_SENT), "sent");
	assert_string_equal(
	    delivery_state_to_text(DELIVERY_DEFERRED), "deferred");
	assert_string_equal(
	    delivery_state_to_text(DELIVERY_BOUNCED), "bounced");
	assert_string_equal(delivery_state_to_text(DELIVERY_FAILED), "failed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify_outcomes),
	    cmocka_unit_test(test_hard_bounces),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_state_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
