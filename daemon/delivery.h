/*
 * delivery.h: the pure rules of a delivery's outcome (DESIGN.md section 4,
 * sql/0003_sending.sql state machine), kept apart from the event loop so
 * that tests/unit/test_sched.c checks them alone: which state a worker's
 * per-recipient result leads to, which 5xx replies count as hard bounces,
 * and the retry backoff. No I/O, no clock, no globals.
 */
#ifndef SESD_DELIVERY_H
#define SESD_DELIVERY_H

#include <stdbool.h>

/*
 * A worker's per-recipient outcome on the wire (IPC_WORKER_RESULT). The
 * first three equal enum relay_outcome; DELIVERY_OUT_REJECTED means sesd
 * itself could not build the message (a template variable without a
 * value, no unsubscribe key, an address mime.c refuses): permanent, but no
 * bounce and no suppression.
 */
enum delivery_out {
	DELIVERY_OUT_SENT = 0,
	DELIVERY_OUT_TEMPFAIL = 1,
	DELIVERY_OUT_PERMFAIL = 2,
	DELIVERY_OUT_REJECTED = 3,
};

/* What a result does to the row (the final decision between deferred and
 * failed by max_retry_age is the SQL's: it owns the clock). */
enum delivery_state {
	DELIVERY_SENT,
	DELIVERY_DEFERRED,
	DELIVERY_BOUNCED,
	DELIVERY_FAILED,
};

/* "sent", "deferred", "bounced", "failed": deliveries.state values. */
const char *delivery_state_to_text(enum delivery_state s);

/*
 * The new state for a result. rcpt_stage is true when the reply answered
 * RCPT TO (relay.h RELAY_STAGE_RCPT). *hard_bounce (may be NULL) is set
 * when the recipient's address should be suppressed for the sender
 * domain: a 5xx to RCPT TO whose enhanced code is 5.1.x (bad mailbox,
 * bad domain, bad syntax, moved) or 5.2.1 (mailbox disabled), or, with
 * no enhanced code, a 550, 551 or 553 to RCPT TO. Everything else 5xx
 * (content or policy refusals: 5.7.x, 5.2.2 full mailbox, 5.3.x, a 5xx
 * to DATA) is a soft bounce: bounced, not suppressed. An unknown
 * outcome is treated as TEMPFAIL (never lose a message).
 */
enum delivery_state delivery_classify(
    int outcome, bool rcpt_stage, int code, const char *enh, bool *hard_bounce);

/*
 * Seconds to wait after the attempts-th attempt failed temporarily:
 * base * 2^(attempts - 1), at most cap (attempts <= 1: base). base and cap
 * are clamped to >= 1; no overflow for any attempts.
 */
int delivery_backoff(int base, int attempts, int cap);

/* The cap sesd uses: one hour (Postfix's maximal_backoff_time is 4000 s),
 * or retry_base when that is larger. */
#define DELIVERY_BACKOFF_CAP 3600

#endif
