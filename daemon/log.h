/*
 * log.h: leveled logging to stderr (the service manager's journal), plus
 * fatal() / fatalx() for conditions sesd cannot continue from.
 */
#ifndef SESD_LOG_H
#define SESD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_DEBUG, /* state changes, SQL timings */
	LOG_LVL_INFO,  /* start, stop, reloads, migrations */
	LOG_LVL_WARN,  /* recoverable trouble: DB down, bad request storms */
	LOG_LVL_ERROR, /* a request or job failed for a reason of ours */
	LOG_LVL_FATAL, /* fatal()/fatalx(): the process exits */
};

#define SESD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SESD_NORETURN     __attribute__((noreturn))
#define SESD_MUSTCHECK    __attribute__((warn_unused_result))

/* Only messages at or above level are printed; default LOG_LVL_INFO. */
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warning", "error"; -1 if unknown. */
int log_level_from_text(const char *s);
/* Prefix each line with this process role, e.g. "smtp 3"; borrowed. */
void log_set_role(const char *role);

void log_debug(const char *fmt, ...) SESD_PRINTF(1, 2);
void log_info(const char *fmt, ...) SESD_PRINTF(1, 2);
void log_warn(const char *fmt, ...) SESD_PRINTF(1, 2);
void log_error(const char *fmt, ...) SESD_PRINTF(1, 2);
/* Log with strerror(errno) appended and exit(1). */
void fatal(const char *fmt, ...) SESD_PRINTF(1, 2) SESD_NORETURN;
/* Log and exit(1). */
void fatalx(const char *fmt, ...) SESD_PRINTF(1, 2) SESD_NORETURN;

#ifdef SESD_ASSERT_ON
#define SESD_ASSERT(x)                                                         \
	do {                                                                   \
		if (!(x))                                                      \
			fatalx("assertion failed: %s (%s:%d)", #x, __FILE__,   \
			    __LINE__);                                         \
	} while (0)
#else
#define SESD_ASSERT(x) ((void)0)
#endif

#endif
