/*
 * log.c: one line per message on stderr, "LEVEL [role] text". systemd's
 * journal adds the time; when stderr is a terminal we add it ourselves.
 * Leaf module: no other sesd header.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_LVL_INFO;
static const char *role = "main";

static void log_vwrite(enum log_level, const char *, const char *, va_list)
    SESD_PRINTF(3, 0);

void
log_set_level(enum log_level level)
{
	min_level = level;
}

int
log_level_from_text(const char *s)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

void
log_set_role(const char *r)
{
	role = r;
}

static void
log_vwrite(
    enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	static const char *tags[] = {
	    "DEBUG", "INFO", "WARNING", "ERROR", "FATAL"};
	char line[2048], stamp[32] = "";
	int n;

	if (level < min_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (isatty(STDERR_FILENO)) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S ", &tm);
	}
	fprintf(stderr, "%s%s [%s] %s%s%s\n", stamp, tags[level], role, line,
	    suffix ? ": " : "", suffix ? suffix : "");
}

#define LOG_FN(name, level)                                                    \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vwrite(level, NULL, fmt, ap);                              \
		va_end(ap);                                                    \
	}
LOG_FN(log_debug, LOG_LVL_DEBUG)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_error, LOG_LVL_ERROR)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *err = strerror(errno);

	va_start(ap, fmt);
	min_level = LOG_LVL_DEBUG;
	log_vwrite(LOG_LVL_FATAL, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	min_level = LOG_LVL_DEBUG;
	log_vwrite(LOG_LVL_FATAL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
