/*
 * config.c: reads sesd.conf and the credentials file it names into a fresh
 * struct config. One static key table (CONFIG_KEYS below) drives parsing,
 * validation, defaults, freeing and the restart-only check, as pgbouncer's
 * CF_ABS rows do. Never touches a running config: main.c swaps configs on
 * SIGHUP. Uses only log and util.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define ZONEINFO_DIR   "/usr/share/zoneinfo"
#define CRED_MAX_LEN   128
#define CFG_STRING_MAX 4096

enum cfg_type {
	CFG_STRING,     /* char *, length min..max */
	CFG_INT,        /* int, min..max */
	CFG_SIZE,       /* size_t bytes, min..max; suffixes k, M, G */
	CFG_ENUM,       /* enum stored as its index in values[] */
	CFG_LOG_LEVEL,  /* char *, one of log_level_from_text()'s names */
	CFG_HOST_PORT,  /* char *, host:port or [v6]:port */
	CFG_TIME_ZONE,  /* char *, a file under ZONEINFO_DIR */
	CFG_DNS_LABEL,  /* char *, one LDH label */
	CFG_DNS_SERVER, /* char *, "" or host or host:port */
	CFG_NAME_LIST,  /* char *, comma-separated [a-z0-9-] names */
	CFG_DURATION,   /* int seconds, min..max; suffixes s, m, h, d */
	CFG_BOOL,       /* bool, yes or no */
	CFG_URL,        /* char *, http(s)://host[:port][/path], max bytes */
	CFG_HOST,       /* char *, a host name or IP address, no port */
	CFG_HELO,       /* char *, "" or a host name (DNS labels) */
	CFG_EMAIL,      /* char *, "" or a plain address (util.h) */
};

enum cfg_reload {
	CFG_RELOAD,  /* SIGHUP applies the new value */
	CFG_RESTART, /* SIGHUP keeps the old value and logs a warning */
};

/* How a field is stored, to check each row's type against its field. */
enum cfg_storage {
	CFG_ST_STR,
	CFG_ST_INT,
	CFG_ST_SIZE,
	CFG_ST_ENUM,
	CFG_ST_BOOL,
};

struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	enum cfg_reload reload;
	size_t offset;
	const char *def; /* text as in the file, without quotes */
	long long min, max;
	const char *const *values; /* CFG_ENUM: names, NULL-terminated */
};

static const char *const verify_values[] = {"trust", "dns", NULL};
static const char *const review_values[] = {"auto", "manual", NULL};
static const char *const starttls_values[] = {
    "none", "opportunistic", "required", NULL};

#define CFG_KB  1024LL
#define CFG_MB  (1024LL * 1024)
#define CFG_MIN 60LL
#define CFG_DAY (24LL * 60 * 60)

/*
 * The key table, in file order. Each row:
 *   X(section, name, type, reload, field, default, min, max, values)
 * It expands into the parser's table, the config_keys() list and one
 * compile-time check per row that the field has the type's storage.
 */
/* clang-format off */
#define CONFIG_KEYS(X)                                                         \
	X("sesd", "credentials_file", CFG_STRING, CFG_RELOAD,                  \
	    credentials_file, "/etc/sesd/credentials",                         \
	    1, CFG_STRING_MAX, NULL)                                           \
	X("sesd", "time_zone", CFG_TIME_ZONE, CFG_RESTART,                     \
	    time_zone, "Asia/Shanghai", 0, 0, NULL)                            \
	X("sesd", "shutdown_timeout", CFG_INT, CFG_RELOAD,                     \
	    shutdown_timeout, "30", 1, 3600, NULL)                             \
	X("sesd", "log_level", CFG_LOG_LEVEL, CFG_RELOAD,                      \
	    log_level, "info", 0, 0, NULL)                                     \
	X("database", "conninfo", CFG_STRING, CFG_RESTART,                     \
	    db_conninfo, "host=/var/run/postgresql dbname=sesd",               \
	    1, CFG_STRING_MAX, NULL)                                           \
	X("database", "pool_size", CFG_INT, CFG_RESTART,                       \
	    db_pool_size, "4", 1, 64, NULL)                                    \
	X("database", "reconnect_interval", CFG_INT, CFG_RELOAD,               \
	    db_reconnect_interval, "1", 1, 300, NULL)                          \
	X("api", "listen", CFG_HOST_PORT, CFG_RESTART,                         \
	    api_listen, "127.0.0.1:9380", 0, 0, NULL)                          \
	X("api", "rate_limit", CFG_INT, CFG_RELOAD,                            \
	    api_rate_limit, "20", 0, 1000000, NULL)                            \
	X("api", "max_body", CFG_SIZE, CFG_RELOAD,                             \
	    api_max_body, "8M", 1 * CFG_KB, 64 * CFG_MB, NULL)                 \
	X("api", "timeout", CFG_INT, CFG_RELOAD,                               \
	    api_timeout, "30", 1, 3600, NULL)                                  \
	X("api", "regions", CFG_NAME_LIST, CFG_RELOAD,                         \
	    api_regions, "ap-guangzhou,ap-hongkong,ap-singapore", 0, 0, NULL)  \
	X("identity", "verify", CFG_ENUM, CFG_RELOAD,                          \
	    identity_verify, "trust", 0, 0, verify_values)                     \
	X("identity", "dkim_selector", CFG_DNS_LABEL, CFG_RELOAD,              \
	    identity_dkim_selector, "sesd", 0, 0, NULL)                        \
	X("identity", "spf_record", CFG_STRING, CFG_RELOAD,                    \
	    identity_spf_record, "v=spf1 a mx ~all", 1, 255, NULL)             \
	X("identity", "dmarc_record", CFG_STRING, CFG_RELOAD,                  \
	    identity_dmarc_record, "v=DMARC1; p=none", 1, 255, NULL)           \
	X("identity", "dns_server", CFG_DNS_SERVER, CFG_RELOAD,                \
	    identity_dns_server, "", 0, 0, NULL)                               \
	X("templates", "review", CFG_ENUM, CFG_RELOAD,                         \
	    templates_review, "auto", 0, 0, review_values)                     \
	X("templates", "max_size", CFG_SIZE, CFG_RELOAD,                       \
	    templates_max_size, "1M", 1 * CFG_KB, 16 * CFG_MB, NULL)           \
	X("limits", "domains", CFG_INT, CFG_RELOAD,                            \
	    limits_domains, "10", 1, 100000, NULL)                             \
	X("limits", "senders", CFG_INT, CFG_RELOAD,                            \
	    limits_senders, "10", 1, 100000, NULL)                             \
	X("limits", "templates", CFG_INT, CFG_RELOAD,                          \
	    limits_templates, "1000", 1, 1000000, NULL)                        \
	X("limits", "receivers", CFG_INT, CFG_RELOAD,                          \
	    limits_receivers, "1000", 1, 1000000, NULL)                        \
	X("limits", "receivers_per_list", CFG_INT, CFG_RELOAD,                 \
	    limits_receivers_per_list, "50000", 1, 100000000, NULL)            \
	X("smtp", "relay_host", CFG_HOST, CFG_RELOAD,                          \
	    smtp_relay_host, "127.0.0.1", 0, 0, NULL)                          \
	X("smtp", "relay_port", CFG_INT, CFG_RELOAD,                           \
	    smtp_relay_port, "25", 1, 65535, NULL)                             \
	X("smtp", "starttls", CFG_ENUM, CFG_RELOAD,                            \
	    smtp_starttls, "opportunistic", 0, 0, starttls_values)             \
	X("smtp", "auth_user", CFG_STRING, CFG_RELOAD,                         \
	    smtp_auth_user, "", 0, 255, NULL)                                  \
	X("smtp", "auth_password", CFG_STRING, CFG_RELOAD,                     \
	    smtp_auth_password, "", 0, 255, NULL)                              \
	X("smtp", "helo_name", CFG_HELO, CFG_RELOAD,                           \
	    smtp_helo_name, "", 0, 0, NULL)                                    \
	X("smtp", "connect_timeout", CFG_INT, CFG_RELOAD,                      \
	    smtp_connect_timeout, "10", 1, 300, NULL)                          \
	X("smtp", "command_timeout", CFG_INT, CFG_RELOAD,                      \
	    smtp_command_timeout, "60", 1, 3600, NULL)                         \
	X("smtp", "workers", CFG_INT, CFG_RESTART,                             \
	    smtp_workers, "4", 0, 64, NULL)                                    \
	X("smtp", "messages_per_session", CFG_INT, CFG_RELOAD,                 \
	    smtp_messages_per_session, "100", 1, 10000, NULL)                  \
	X("smtp", "max_retry_age", CFG_DURATION, CFG_RELOAD,                   \
	    smtp_max_retry_age, "72h", 1 * CFG_MIN, 30 * CFG_DAY, NULL)        \
	X("smtp", "retry_base", CFG_DURATION, CFG_RELOAD,                      \
	    smtp_retry_base, "60s", 1, 1 * CFG_DAY, NULL)                      \
	X("smtp", "bounce_address", CFG_EMAIL, CFG_RELOAD,                     \
	    smtp_bounce_address, "", 0, 0, NULL)                               \
	X("smtp", "lease", CFG_DURATION, CFG_RELOAD,                           \
	    smtp_lease, "300s", 10, 1 * CFG_DAY, NULL)                         \
	X("content", "ad_marker", CFG_STRING, CFG_RELOAD,                      \
	    content_ad_marker, "<AD>", 1, 32, NULL)                            \
	X("content", "public_url", CFG_URL, CFG_RELOAD,                        \
	    content_public_url, "http://127.0.0.1:9381", 0, 200, NULL)         \
	X("content", "unsubscribe_key_file", CFG_STRING, CFG_RELOAD,           \
	    content_unsubscribe_key_file, "", 0, CFG_STRING_MAX, NULL)         \
	X("content", "unsubscribe_mailto", CFG_EMAIL, CFG_RELOAD,              \
	    content_unsubscribe_mailto, "", 0, 0, NULL)                        \
	X("web", "listen", CFG_HOST_PORT, CFG_RESTART,                         \
	    web_listen, "127.0.0.1:9381", 0, 0, NULL)                          \
	X("dkim", "sign", CFG_BOOL, CFG_RELOAD,                                \
	    dkim_sign, "yes", 0, 0, NULL)                                      \
	X("scheduler", "hour_seconds", CFG_INT, CFG_RELOAD,                    \
	    scheduler_hour_seconds, "3600", 1, 3600, NULL)

#define CFG_ROW(sec, key, type, reload, field, def, min, max, values)          \
	{sec, key, type, reload, offsetof(struct config, field), def, min,     \
	    max, values},
#define CFG_INFO(sec, key, type, reload, field, def, min, max, values)         \
	{sec, key, def},
#define CFG_STORAGE(type)                                                      \
	((type) == CFG_INT || (type) == CFG_DURATION ? CFG_ST_INT              \
	    : (type) == CFG_SIZE ? CFG_ST_SIZE                                 \
	    : (type) == CFG_ENUM ? CFG_ST_ENUM                                 \
	    : (type) == CFG_BOOL ? CFG_ST_BOOL                                 \
	    : CFG_ST_STR)
#define CFG_FIELD_STORAGE(field)                                               \
	_Generic(((struct config *)0)->field,                                  \
	    char *: CFG_ST_STR,                                                \
	    int: CFG_ST_INT,                                                   \
	    size_t: CFG_ST_SIZE,                                               \
	    bool: CFG_ST_BOOL,                                                 \
	    default: CFG_ST_ENUM)
#define CFG_CHECK(sec, key, type, reload, field, def, min, max, values)        \
	_Static_assert(CFG_STORAGE(type) == CFG_FIELD_STORAGE(field),          \
	    "config key " sec "." key ": type does not match its field");
/* clang-format on */

static const struct cfg_key cfg_keys[] = {CONFIG_KEYS(CFG_ROW)};
CONFIG_KEYS(CFG_CHECK)
_Static_assert(sizeof(enum identity_verify) == sizeof(int) &&
		   sizeof(enum template_review) == sizeof(int) &&
		   sizeof(enum smtp_starttls) == sizeof(int),
    "enum keys are stored as int");

#define NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static void seterr(char *, size_t, const char *, ...) SESD_PRINTF(3, 4);
static char *trim(char *);
static bool section_known(const char *);
static const struct cfg_key *key_find(const char *, const char *);
static bool is_str_type(enum cfg_type);
static bool has_ctrl(const char *);
static int parse_int(const char *, long long *);
static int parse_size(const char *, unsigned long long *);
static void size_to_text(char *, size_t, unsigned long long);
static bool port_ok(const char *);
static bool host_ok(const char *, size_t, bool);
static int host_port_check(const char *, bool);
static int time_zone_check(const char *);
static int name_list_check(const char *);
static int parse_duration(const char *, unsigned long long *);
static void duration_to_text(char *, size_t, unsigned long long);
static bool ipv6_ok(const char *);
static bool url_byte_ok(unsigned char);
static int url_check(const char *, size_t);
static int value_set(
    struct config *, const struct cfg_key *, const char *, char *, size_t);
static int config_parse(struct config *, FILE *, char *, size_t);
static void key_where(const struct config *, const int *, const char *,
    const char *, char *, size_t);
static int cross_check(const struct config *, const int *, char *, size_t);
static char *conf_relative(const struct config *, const char *);
static int cred_line(
    struct config *, char *, const char *, int, int **, char *, size_t);
static int creds_load(struct config *, char *, size_t);
static int unsub_key_load(struct config *, char *, size_t);
static bool value_equal(
    const struct config *, const struct config *, const struct cfg_key *);
static void value_copy(
    const struct config *, struct config *, const struct cfg_key *);

#define FIELD(cfg, k)  ((void *)((char *)(cfg) + (k)->offset))
#define CFIELD(cfg, k) ((const void *)((const char *)(cfg) + (k)->offset))

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	return s;
}

static bool
section_known(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0)
			return true;
	return false;
}

static const struct cfg_key *
key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	return NULL;
}

static bool
is_str_type(enum cfg_type type)
{
	return CFG_STORAGE(type) == CFG_ST_STR;
}

static bool
has_ctrl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Decimal, optional leading '-', nothing else. */
static int
parse_int(const char *s, long long *out)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	char *end;
	long long v;

	if (!isdigit((unsigned char)d[0]))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Decimal bytes with an optional k/K, m/M or g/G (powers of 1024). */
static int
parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v, mult = 1;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1024ULL;
		break;
	case 'm':
	case 'M':
		mult = 1024ULL * 1024;
		break;
	case 'g':
	case 'G':
		mult = 1024ULL * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > ~0ULL / mult)
		v = ~0ULL; /* out of any range */
	else
		v *= mult;
	*out = v;
	return 0;
}

static void
size_to_text(char *out, size_t outlen, unsigned long long n)
{
	static const char suffix[] = "GMk";
	unsigned long long unit = 1024ULL * 1024 * 1024;

	for (int i = 0; i < 3; i++, unit /= 1024) {
		if (n != 0 && n % unit == 0) {
			snprintf(out, outlen, "%llu%c", n / unit, suffix[i]);
			return;
		}
	}
	snprintf(out, outlen, "%llu", n);
}

static bool
port_ok(const char *s)
{
	size_t n = strlen(s);
	long v;

	if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
		return false;
	v = strtol(s, NULL, 10);
	return v >= 1 && v <= 65535;
}

/* A host name or IPv4 address, or (v6) the inside of [brackets]. */
static bool
host_ok(const char *s, size_t n, bool v6)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '.' || c == '-' || c == '_')
			continue;
		if (v6 && (c == ':' || c == '%'))
			continue;
		return false;
	}
	return true;
}

/*
 * host:port, [v6]:port; with !port_required also host, [v6] and a bare v6
 * address (more than one colon).
 */
static int
host_port_check(const char *s, bool port_required)
{
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL ||
		    !host_ok(s + 1, (size_t)(close - s - 1), true))
			return -1;
		if (close[1] == '\0')
			return port_required ? -1 : 0;
		return close[1] == ':' && port_ok(close + 2) ? 0 : -1;
	}
	colon = strchr(s, ':');
	if (colon == NULL)
		return !port_required && host_ok(s, strlen(s), false) ? 0 : -1;
	if (strchr(colon + 1, ':') != NULL) /* bare IPv6, no port */
		return !port_required && host_ok(s, strlen(s), true) ? 0 : -1;
	return host_ok(s, (size_t)(colon - s), false) && port_ok(colon + 1)
		   ? 0
		   : -1;
}

/*
 * PostgreSQL gets this name, so accept only what a zoneinfo file name
 * can be, never "..", and require the file to exist.
 */
static int
time_zone_check(const char *s)
{
	char path[512];
	struct stat st;
	size_t n = strlen(s);

	if (n == 0 || n > 255 || s[0] == '/' || strstr(s, "..") != NULL)
		return -1;
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789/_+-") != n)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, s);
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return -1;
	return 0;
}

static int
name_list_check(const char *s)
{
	const char *p = s;

	for (;;) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
		if (n == 0)
			return -1;
		p += n;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return -1;
		p++;
	}
}

/* Decimal seconds with an optional s, m, h or d suffix. */
static int
parse_duration(const char *s, unsigned long long *out)
{
	unsigned long long v, mult = 1;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 60 * 60;
		break;
	case 'd':
		mult = 24 * 60 * 60;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > ~0ULL / mult)
		v = ~0ULL; /* out of any range */
	else
		v *= mult;
	*out = v;
	return 0;
}

/* The largest unit that divides n exactly: 86400 -> "1d", 90 -> "90s". */
static void
duration_to_text(char *out, size_t outlen, unsigned long long n)
{
	static const struct {
		unsigned long long secs;
		char suffix;
	} units[] = {{24 * 60 * 60, 'd'}, {60 * 60, 'h'}, {60, 'm'}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (n != 0 && n % units[i].secs == 0) {
			snprintf(out, outlen, "%llu%c", n / units[i].secs,
			    units[i].suffix);
			return;
		}
	}
	snprintf(out, outlen, "%llus", n);
}

/* DNS labels separated by single dots, at most 253 bytes. */
/* A bare IPv6 address, as a relay host is given. */
static bool
ipv6_ok(const char *s)
{
	struct in6_addr a;

	return inet_pton(AF_INET6, s, &a) == 1;
}

/*
 * A byte that may stand in a URL's path as links, headers and HTML
 * attributes carry it: printable ASCII, no blank, quote, angle bracket
 * or backslash, and no '?' or '#' (sesd appends its own path and query).
 */
static bool
url_byte_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"<>\\^`{|}?#", c) == NULL;
}

/*
 * http:// or https:// (any case), then host[:port] or [v6][:port] with no
 * user part, then an optional /path; at most max bytes. unsub_url() builds
 * "<url>/unsubscribe?t=..." from it.
 */
static int
url_check(const char *s, size_t max)
{
	char auth[300];
	size_t n = strlen(s), scheme, alen;
	const char *host, *colon;

	if (n > max)
		return -1;
	if (strncasecmp(s, "https://", 8) == 0)
		scheme = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		scheme = 7;
	else
		return -1;
	for (size_t i = scheme; i < n; i++)
		if (!url_byte_ok((unsigned char)s[i]))
			return -1;
	host = s + scheme;
	alen = strcspn(host, "/");
	if (alen == 0 || alen >= sizeof(auth) || memchr(host, '@', alen))
		return -1;
	memcpy(auth, host, alen);
	auth[alen] = '\0';
	/* a bare IPv6 address needs brackets in a URL */
	colon = strchr(auth, ':');
	if (auth[0] != '[' && colon != NULL && strchr(colon + 1, ':') != NULL)
		return -1;
	return host_port_check(auth, false);
}

/*
 * Parses text as k's type and stores it in cfg. On error writes why (no
 * file:line) and returns -1. Free-form strings are never echoed: a
 * conninfo may hold a password.
 */
static int
value_set(struct config *cfg, const struct cfg_key *k, const char *text,
    char *why, size_t whylen)
{
	char lo[32], hi[32];
	long long ll;
	unsigned long long ull;

	if (has_ctrl(text)) {
		seterr(why, whylen, "value contains a control character");
		return -1;
	}
	switch (k->type) {
	case CFG_STRING: {
		size_t n = strlen(text);
		if (n < (size_t)k->min) {
			seterr(why, whylen, "value is empty");
			return -1;
		}
		if (n > (size_t)k->max) {
			seterr(why, whylen,
			    "value is longer than %lld characters", k->max);
			return -1;
		}
		break;
	}
	case CFG_INT:
		if (parse_int(text, &ll) == -1) {
			seterr(why, whylen, "\"%s\" is not an integer", text);
			return -1;
		}
		if (ll < k->min || ll > k->max) {
			seterr(why, whylen, "%s is out of range %lld..%lld",
			    text, k->min, k->max);
			return -1;
		}
		*(int *)FIELD(cfg, k) = (int)ll;
		return 0;
	case CFG_SIZE:
		if (parse_size(text, &ull) == -1) {
			seterr(why, whylen,
			    "\"%s\" is not a size (bytes, or a number with "
			    "suffix k, M or G)",
			    text);
			return -1;
		}
		if (ull < (unsigned long long)k->min ||
		    ull > (unsigned long long)k->max) {
			size_to_text(
			    lo, sizeof(lo), (unsigned long long)k->min);
			size_to_text(
			    hi, sizeof(hi), (unsigned long long)k->max);
			seterr(why, whylen, "%s is out of range %s..%s", text,
			    lo, hi);
			return -1;
		}
		*(size_t *)FIELD(cfg, k) = (size_t)ull;
		return 0;
	case CFG_ENUM: {
		struct buf names;
		for (int i = 0; k->values[i] != NULL; i++) {
			if (strcmp(text, k->values[i]) == 0) {
				*(int *)FIELD(cfg, k) = i;
				return 0;
			}
		}
		buf_init(&names);
		for (int i = 0; k->values[i] != NULL; i++)
			buf_addf(&names, "%s%s", i ? ", " : "", k->values[i]);
		seterr(
		    why, whylen, "\"%s\" is not one of %s", text, names.data);
		buf_reset(&names);
		return -1;
	}
	case CFG_LOG_LEVEL:
		if (log_level_from_text(text) == -1) {
			seterr(why, whylen,
			    "\"%s\" is not one of debug, info, warning, error",
			    text);
			return -1;
		}
		break;
	case CFG_HOST_PORT:
		if (host_port_check(text, true) == -1) {
			seterr(why, whylen,
			    "\"%s\" is not host:port (port 1..65535)", text);
			return -1;
		}
		break;
	case CFG_TIME_ZONE:
		if (time_zone_check(text) == -1) {
			seterr(why, whylen,
			    "\"%s\" is not a time zone in " ZONEINFO_DIR, text);
			return -1;
		}
		break;
	case CFG_DNS_LABEL:
		if (!dns_label_valid(text, strlen(text))) {
			seterr(why, whylen,
			    "\"%s\" is not a DNS label (1..63 letters, digits "
			    "and hyphens, no hyphen at either end)",
			    text);
			return -1;
		}
		break;
	case CFG_DNS_SERVER:
		if (text[0] != '\0' && host_port_check(text, false) == -1) {
			seterr(why, whylen,
			    "\"%s\" is not host or host:port (port 1..65535)",
			    text);
			return -1;
		}
		break;
	case CFG_NAME_LIST:
		if (name_list_check(text) == -1) {
			seterr(why, whylen,
			    "\"%s\" is not a comma-separated list of names "
			    "(a-z, 0-9, -)",
			    text);
			return -1;
		}
		break;
	case CFG_DURATION:
		if (parse_duration(text, &ull) == -1) {
			seterr(why, whylen,
			    "\"%s\" is not a duration (seconds, or a number "
			    "with suffix s, m, h or d)",
			    text);
			return -1;
		}
		if (ull < (unsigned long long)k->min ||
		    ull > (unsigned long long)k->max) {
			duration_to_text(
			    lo, sizeof(lo), (unsigned long long)k->min);
			duration_to_text(
			    hi, sizeof(hi), (unsigned long long)k->max);
			seterr(why, whylen, "%s is out of range %s..%s", text,
			    lo, hi);
			return -1;
		}
		*(int *)FIELD(cfg, k) = (int)ull;
		return 0;
	case CFG_BOOL:
		if (strcmp(text, "yes") != 0 && strcmp(text, "no") != 0) {
			seterr(why, whylen, "\"%s\" is not yes or no", text);
			return -1;
		}
		*(bool *)FIELD(cfg, k) = strcmp(text, "yes") == 0;
		return 0;
	case CFG_URL:
		if (url_check(text, (size_t)k->max) == -1) {
			seterr(why, whylen,
			    "\"%s\" is not an http:// or https:// URL of at "
			    "most %lld bytes (host[:port][/path], no user, "
			    "query or fragment)",
			    text, k->max);
			return -1;
		}
		break;
	case CFG_HOST:
		if (!host_ok(text, strlen(text), false) && !ipv6_ok(text)) {
			seterr(why, whylen,
			    "\"%s\" is not a host name or IP address", text);
			return -1;
		}
		break;
	case CFG_HELO:
		if (text[0] != '\0' && !dns_name_valid(text)) {
			seterr(why, whylen,
			    "\"%s\" is not a host name (DNS labels separated "
			    "by dots)",
			    text);
			return -1;
		}
		break;
	case CFG_EMAIL:
		if (text[0] != '\0' && !email_valid(text, 254)) {
			seterr(why, whylen,
			    "\"%s\" is not an email address (local@domain)",
			    text);
			return -1;
		}
		break;
	}
	/* every string type lands here */
	char **field = FIELD(cfg, k);
	free(*field);
	*field = xstrdup(text);
	return 0;
}

/* The ini pass: fills the keys the file names; the caller adds defaults. */
static int
config_parse(struct config *cfg, FILE *f, char *err, size_t errlen)
{
	const char *path = cfg->path;
	int seen[NKEYS] = {0}; /* line of each key, 0 = not in the file */
	char *line = NULL, *section = NULL, why[256];
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = -1;

	while ((len = getline(&line, &cap, f)) != -1) {
		char *s, *eq, *name, *value;
		const struct cfg_key *k;

		lineno++;
		if (strlen(line) != (size_t)len) {
			seterr(err, errlen, "%s:%d: NUL byte in line", path,
			    lineno);
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		s = line;
		if (lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3; /* UTF-8 byte order mark */
		s = trim(s);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;

		if (*s == '[') {
			size_t n = strlen(s);
			if (s[n - 1] != ']') {
				seterr(err, errlen,
				    "%s:%d: expected \"[section]\"", path,
				    lineno);
				goto out;
			}
			s[n - 1] = '\0';
			s = trim(s + 1);
			if (!section_known(s)) {
				seterr(err, errlen,
				    "%s:%d: unknown section [%s]", path, lineno,
				    s);
				goto out;
			}
			free(section);
			section = xstrdup(s);
			continue;
		}

		eq = strchr(s, '=');
		if (eq == NULL) {
			seterr(err, errlen, "%s:%d: expected \"key = value\"",
			    path, lineno);
			goto out;
		}
		*eq = '\0';
		name = trim(s);
		value = trim(eq + 1);
		if (*name == '\0') {
			seterr(err, errlen, "%s:%d: expected \"key = value\"",
			    path, lineno);
			goto out;
		}
		if (section == NULL) {
			seterr(err, errlen,
			    "%s:%d: key \"%s\" outside any [section]", path,
			    lineno, name);
			goto out;
		}
		k = key_find(section, name);
		if (k == NULL) {
			seterr(err, errlen, "%s:%d: unknown key \"%s\" in [%s]",
			    path, lineno, name, section);
			goto out;
		}
		if (seen[k - cfg_keys] != 0) {
			seterr(err, errlen,
			    "%s:%d: duplicate key \"%s\" in [%s] (first on "
			    "line "
			    "%d)",
			    path, lineno, name, section, seen[k - cfg_keys]);
			goto out;
		}
		seen[k - cfg_keys] = lineno;

		if (value[0] == '"') {
			size_t n = strlen(value);
			if (n < 2 || value[n - 1] != '"') {
				seterr(err, errlen,
				    "%s:%d: %s.%s: unterminated quote", path,
				    lineno, k->section, k->name);
				goto out;
			}
			value[n - 1] = '\0';
			value++;
		}
		if (value_set(cfg, k, value, why, sizeof(why)) == -1) {
			seterr(err, errlen, "%s:%d: %s.%s: %s", path, lineno,
			    k->section, k->name, why);
			goto out;
		}
	}
	if (ferror(f)) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}

	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (seen[i] != 0)
			continue;
		/* only time_zone can fail here: its file may be missing */
		if (value_set(cfg, k, k->def, why, sizeof(why)) == -1) {
			seterr(err, errlen, "%s: %s.%s (default): %s", path,
			    k->section, k->name, why);
			goto out;
		}
	}
	if (cross_check(cfg, seen, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	free(section);
	free(line);
	return rc;
}

/* "file:line: " of key (section, name), or "file: " and " (default)". */
static void
key_where(const struct config *cfg, const int *seen, const char *section,
    const char *name, char *out, size_t outlen)
{
	const struct cfg_key *k = key_find(section, name);
	int line = seen[k - cfg_keys];

	if (line != 0)
		snprintf(out, outlen, "%s:%d: %s.%s", cfg->path, line, section,
		    name);
	else
		snprintf(out, outlen, "%s: %s.%s (default)", cfg->path, section,
		    name);
}

/* Rules that span keys, checked once every key has its value. */
static int
cross_check(const struct config *cfg, const int *seen, char *err, size_t errlen)
{
	char where[512], a[32], b[32];
	bool user = cfg->smtp_auth_user[0] != '\0';
	bool pass = cfg->smtp_auth_password[0] != '\0';

	if (user != pass) {
		key_where(cfg, seen, "smtp",
		    user ? "auth_user" : "auth_password", where, sizeof(where));
		seterr(err, errlen,
		    "%s: set auth_user and auth_password together (or "
		    "neither)",
		    where);
		return -1;
	}
	if (cfg->smtp_retry_base > cfg->smtp_max_retry_age) {
		key_where(cfg, seen, "smtp",
		    seen[key_find("smtp", "retry_base") - cfg_keys] != 0
			? "retry_base"
			: "max_retry_age",
		    where, sizeof(where));
		duration_to_text(
		    a, sizeof(a), (unsigned long long)cfg->smtp_retry_base);
		duration_to_text(
		    b, sizeof(b), (unsigned long long)cfg->smtp_max_retry_age);
		seterr(err, errlen,
		    "%s: retry_base (%s) is longer than max_retry_age (%s)",
		    where, a, b);
		return -1;
	}
	return 0;
}

/* A file named in the config, relative to the config file's directory. */
static char *
conf_relative(const struct config *cfg, const char *file)
{
	const char *slash = strrchr(cfg->path, '/');

	if (file[0] == '/' || slash == NULL)
		return xstrdup(file);
	return xasprintf(
	    "%.*s%s", (int)(slash - cfg->path + 1), cfg->path, file);
}

/* One non-comment line "SecretId SecretKey AppId" of the file at path. */
static int
cred_line(struct config *cfg, char *s, const char *path, int lineno,
    int **lines, char *err, size_t errlen)
{
	char *tok[4], *save = NULL, *end;
	struct cred *c;
	unsigned long long app_id;
	int n = 0;

	for (char *t = strtok_r(s, " \t", &save); t != NULL && n < 4;
	     t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	if (n != 3) {
		seterr(err, errlen,
		    "%s:%d: expected \"SecretId SecretKey AppId\"", path,
		    lineno);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		size_t len = strlen(tok[i]);
		bool ok = len >= 1 && len <= CRED_MAX_LEN;
		for (size_t j = 0; ok && j < len; j++)
			ok = tok[i][j] > 0x20 && tok[i][j] < 0x7f;
		if (!ok) {
			/* never echo a SecretKey */
			seterr(err, errlen,
			    "%s:%d: %s must be 1..%d printable ASCII "
			    "characters",
			    path, lineno, i == 0 ? "SecretId" : "SecretKey",
			    CRED_MAX_LEN);
			return -1;
		}
	}
	errno = 0;
	app_id = strtoull(tok[2], &end, 10);
	if (strspn(tok[2], "0123456789") != strlen(tok[2]) || errno != 0 ||
	    *end != '\0' || app_id == 0) {
		seterr(err, errlen,
		    "%s:%d: AppId \"%s\" is not a positive decimal integer",
		    path, lineno, tok[2]);
		return -1;
	}
	for (size_t i = 0; i < cfg->ncreds; i++) {
		if (strcmp(cfg->creds[i].secret_id, tok[0]) == 0) {
			seterr(err, errlen,
			    "%s:%d: duplicate SecretId \"%s\" (first on line "
			    "%d)",
			    path, lineno, tok[0], (*lines)[i]);
			return -1;
		}
	}
	cfg->creds =
	    xrealloc(cfg->creds, (cfg->ncreds + 1) * sizeof(*cfg->creds));
	*lines = xrealloc(*lines, (cfg->ncreds + 1) * sizeof(**lines));
	c = &cfg->creds[cfg->ncreds];
	c->secret_id = xstrdup(tok[0]);
	c->secret_key = xstrdup(tok[1]);
	c->app_id = (uint64_t)app_id;
	(*lines)[cfg->ncreds] = lineno;
	cfg->ncreds++;
	return 0;
}

static int
creds_load(struct config *cfg, char *err, size_t errlen)
{
	char *path = conf_relative(cfg, cfg->credentials_file), *line = NULL;
	int *lines = NULL, fd, lineno = 0, rc = -1;
	FILE *f = NULL;
	struct stat st;
	size_t cap = 0;
	ssize_t len;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		close(fd);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		seterr(err, errlen,
		    "%s: readable by group or others (mode %04o); chmod 600 "
		    "it",
		    path, (unsigned)(st.st_mode & 07777));
		close(fd);
		goto out;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	while ((len = getline(&line, &cap, f)) != -1) {
		char *s;

		lineno++;
		if (strlen(line) != (size_t)len) {
			seterr(err, errlen, "%s:%d: NUL byte in line", path,
			    lineno);
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (cred_line(cfg, s, path, lineno, &lines, err, errlen) == -1)
			goto out;
	}
	if (ferror(f)) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (cfg->ncreds == 0) {
		seterr(err, errlen,
		    "%s: no credentials (one \"SecretId SecretKey AppId\" per "
		    "line)",
		    path);
		goto out;
	}
	free(cfg->credentials_file);
	cfg->credentials_file = path;
	path = NULL;
	rc = 0;
out:
	if (line != NULL) {
		explicit_bzero(line, cap); /* held a SecretKey */
		free(line);
	}
	if (f != NULL)
		fclose(f);
	free(lines);
	free(path);
	return rc;
}

/*
 * The unsubscribe HMAC key: the bytes of the file, as they are. Every node
 * must hold the same file, so sesd never makes one up; without a file no
 * unsubscribe link can be made or checked.
 */
static int
unsub_key_load(struct config *cfg, char *err, size_t errlen)
{
	unsigned char key[CONFIG_UNSUB_KEY_MAX + 1];
	char *path;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	if (cfg->content_unsubscribe_key_file[0] == '\0')
		return 0;
	path = conf_relative(cfg, cfg->content_unsubscribe_key_file);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		seterr(err, errlen,
		    "%s: readable by group or others (mode %04o); chmod 600 "
		    "it",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < sizeof(key) &&
	       (n = read(fd, key + len, sizeof(key) - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len < CONFIG_UNSUB_KEY_MIN || len > CONFIG_UNSUB_KEY_MAX) {
		seterr(err, errlen,
		    "%s: an unsubscribe key must be %d..%d bytes, this file "
		    "has %s%zu (make one with: umask 077; head -c 32 "
		    "/dev/urandom > FILE)",
		    path, CONFIG_UNSUB_KEY_MIN, CONFIG_UNSUB_KEY_MAX,
		    len > CONFIG_UNSUB_KEY_MAX ? "more than " : "",
		    len > CONFIG_UNSUB_KEY_MAX ? (size_t)CONFIG_UNSUB_KEY_MAX
					       : len);
		goto out;
	}
	cfg->unsub_key = xmalloc(len);
	memcpy(cfg->unsub_key, key, len);
	cfg->unsub_key_len = len;
	free(cfg->content_unsubscribe_key_file);
	cfg->content_unsubscribe_key_file = path;
	path = NULL;
	rc = 0;
out:
	explicit_bzero(key, sizeof(key));
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	FILE *f;
	int rc;

	cfg->path = xstrdup(path);
	f = fopen(path, "re");
	if (f == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		config_free(cfg);
		return NULL;
	}
	rc = config_parse(cfg, f, err, errlen);
	fclose(f);
	if (rc == -1 || creds_load(cfg, err, errlen) == -1 ||
	    unsub_key_load(cfg, err, errlen) == -1) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		if (is_str_type(cfg_keys[i].type))
			free(*(char **)FIELD(cfg, &cfg_keys[i]));
	for (size_t i = 0; i < cfg->ncreds; i++) {
		struct cred *c = &cfg->creds[i];
		explicit_bzero(c->secret_key, strlen(c->secret_key));
		free(c->secret_key);
		free(c->secret_id);
	}
	free(cfg->creds);
	if (cfg->unsub_key != NULL) {
		explicit_bzero(cfg->unsub_key, cfg->unsub_key_len);
		free(cfg->unsub_key);
	}
	free(cfg->path);
	free(cfg);
}

const struct cred *
config_find_cred(const struct config *cfg, const char *secret_id)
{
	for (size_t i = 0; i < cfg->ncreds; i++)
		if (strcmp(cfg->creds[i].secret_id, secret_id) == 0)
			return &cfg->creds[i];
	return NULL;
}

bool
config_region_ok(const struct config *cfg, const char *region)
{
	size_t n;

	if (region == NULL || *region == '\0')
		return false;
	n = strlen(region);
	for (const char *p = cfg->api_regions; *p != '\0';) {
		size_t item = strcspn(p, ",");
		if (item == n && strncmp(p, region, n) == 0)
			return true;
		p += item;
		if (*p == ',')
			p++;
	}
	return false;
}

static bool
value_equal(
    const struct config *a, const struct config *b, const struct cfg_key *k)
{
	switch (CFG_STORAGE(k->type)) {
	case CFG_ST_STR:
		return strcmp(*(char *const *)CFIELD(a, k),
			   *(char *const *)CFIELD(b, k)) == 0;
	case CFG_ST_SIZE:
		return *(const size_t *)CFIELD(a, k) ==
		       *(const size_t *)CFIELD(b, k);
	case CFG_ST_BOOL:
		return *(const bool *)CFIELD(a, k) ==
		       *(const bool *)CFIELD(b, k);
	case CFG_ST_INT:
	case CFG_ST_ENUM:
		break;
	}
	return *(const int *)CFIELD(a, k) == *(const int *)CFIELD(b, k);
}

static void
value_copy(
    const struct config *from, struct config *to, const struct cfg_key *k)
{
	switch (CFG_STORAGE(k->type)) {
	case CFG_ST_STR: {
		char **dst = FIELD(to, k);
		free(*dst);
		*dst = xstrdup(*(char *const *)CFIELD(from, k));
		return;
	}
	case CFG_ST_SIZE:
		*(size_t *)FIELD(to, k) = *(const size_t *)CFIELD(from, k);
		return;
	case CFG_ST_BOOL:
		*(bool *)FIELD(to, k) = *(const bool *)CFIELD(from, k);
		return;
	case CFG_ST_INT:
	case CFG_ST_ENUM:
		break;
	}
	*(int *)FIELD(to, k) = *(const int *)CFIELD(from, k);
}

void
config_keep_restart_keys(const struct config *old, struct config *new)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->reload != CFG_RESTART || value_equal(old, new, k))
			continue;
		log_warn("config: %s.%s changed; restart sesd to apply",
		    k->section, k->name);
		value_copy(old, new, k);
	}
}

const struct config_key_info *
config_keys(void)
{
	static const struct config_key_info info[] = {
	    CONFIG_KEYS(CFG_INFO){NULL, NULL, NULL}};
	return info;
}
