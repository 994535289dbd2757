/*
 * test_config.c: config.c against temp files made with mkstemp under /tmp:
 * every key type's good and bad values with the exact "file:line" error,
 * the ini syntax, the credentials file, and conf/sesd.conf against the key
 * table's defaults (STYLE.md section 9).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

#define GOOD_CREDS                                                             \
	"# test keys\n"                                                        \
	"AKIDtest1 secretkey1 1250000001\n"                                    \
	"\n"                                                                   \
	"  AKIDtest2\tsecretkey2   1250000002  \n"

/* Per test: a 0600 credentials file and the config file under test. */
struct fx {
	char *cred;
	char *conf;
	struct config *cfg;
	char err[512];
};

static char *tmp_write_n(const char *, size_t, mode_t);
static char *tmp_write(const char *, mode_t);
static int fx_setup(void **);
static int fx_teardown(void **);
static struct config *load_raw(struct fx *, const char *);
static struct config *load_body(struct fx *, const char *);
static void expect_err(struct fx *, const char *, int, const char *);
static struct config *load_creds(struct fx *, const char *, mode_t, char **);
static struct config *load_key(
    struct fx *, const void *, size_t, mode_t, char **);
static char *read_all(const char *);
static char *unquote(char *);
static char *next_line(char **);

static char *
tmp_write_n(const char *text, size_t len, mode_t mode)
{
	char tmpl[] = "/tmp/sesd-test-XXXXXX";
	int fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return xstrdup(tmpl);
}

static char *
tmp_write(const char *text, mode_t mode)
{
	return tmp_write_n(text, strlen(text), mode);
}

static int
fx_setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));

	fx->cred = tmp_write(GOOD_CREDS, 0600);
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;

	config_free(fx->cfg);
	unlink(fx->cred);
	free(fx->cred);
	if (fx->conf != NULL) {
		unlink(fx->conf);
		free(fx->conf);
	}
	free(fx);
	return 0;
}

/* Loads text as the whole config file; replaces any earlier one. */
static struct config *
load_raw(struct fx *fx, const char *text)
{
	config_free(fx->cfg);
	if (fx->conf != NULL) {
		unlink(fx->conf);
		free(fx->conf);
	}
	fx->conf = tmp_write(text, 0644);
	fx->err[0] = '\0';
	fx->cfg = config_load(fx->conf, fx->err, sizeof(fx->err));
	return fx->cfg;
}

/*
 * Lines 1-2 open [sesd] and name the fixture's credentials, so body
 * starts on line 3.
 */
static struct config *
load_body(struct fx *fx, const char *body)
{
	char *text =
	    xasprintf("[sesd]\ncredentials_file = %s\n%s", fx->cred, body);
	struct config *cfg = load_raw(fx, text);

	free(text);
	return cfg;
}

static void
expect_err(struct fx *fx, const char *file, int line, const char *msg)
{
	char want[512];

	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s", file, line, msg);
	else
		snprintf(want, sizeof(want), "%s: %s", file, msg);
	assert_null(fx->cfg);
	assert_string_equal(fx->err, want);
}

/* A config naming a fresh credentials file with this text and mode. */
static struct config *
load_creds(struct fx *fx, const char *creds, mode_t mode, char **path)
{
	char *text;

	*path = tmp_write(creds, mode);
	text = xasprintf("[sesd]\ncredentials_file = %s\n", *path);
	load_raw(fx, text);
	free(text);
	return fx->cfg;
}

static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		fail_msg("%s: cannot open", path);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	if (b.data == NULL)
		buf_add(&b, "", 0);
	return b.data;
}

static char *
unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		v++;
	}
	return v;
}

/* ---- defaults ---------------------------------------------------------- */

static void
test_defaults(void **state)
{
	struct fx *fx = *state;
	struct config *cfg = load_body(fx, "");

	assert_non_null(cfg);
	assert_string_equal(cfg->path, fx->conf);
	assert_string_equal(cfg->credentials_file, fx->cred);
	assert_string_equal(cfg->time_zone, "Asia/Shanghai");
	assert_int_equal(cfg->shutdown_timeout, 30);
	assert_string_equal(cfg->log_level, "info");
	assert_string_equal(
	    cfg->db_conninfo, "host=/var/run/postgresql dbname=sesd");
	assert_int_equal(cfg->db_pool_size, 4);
	assert_int_equal(cfg->db_reconnect_interval, 1);
	assert_string_equal(cfg->api_listen, "127.0.0.1:9380");
	assert_int_equal(cfg->api_rate_limit, 20);
	assert_int_equal(cfg->api_max_body, 8 * 1024 * 1024);
	assert_int_equal(cfg->api_timeout, 30);
	assert_string_equal(
	    cfg->api_regions, "ap-guangzhou,ap-hongkong,ap-singapore");
	assert_int_equal(cfg->identity_verify, VERIFY_TRUST);
	assert_string_equal(cfg->identity_dkim_selector, "sesd");
	assert_string_equal(cfg->identity_spf_record, "v=spf1 a mx ~all");
	assert_string_equal(cfg->identity_dmarc_record, "v=DMARC1; p=none");
	assert_string_equal(cfg->identity_dns_server, "");
	assert_int_equal(cfg->templates_review, REVIEW_AUTO);
	assert_int_equal(cfg->templates_max_size, 1024 * 1024);
	assert_int_equal(cfg->limits_domains, 10);
	assert_int_equal(cfg->limits_senders, 10);
	assert_int_equal(cfg->limits_templates, 1000);
	assert_int_equal(cfg->limits_receivers, 1000);
	assert_int_equal(cfg->limits_receivers_per_list, 50000);
	assert_string_equal(cfg->smtp_relay_host, "127.0.0.1");
	assert_int_equal(cfg->smtp_relay_port, 25);
	assert_int_equal(cfg->smtp_starttls, STARTTLS_OPPORTUNISTIC);
	assert_string_equal(cfg->smtp_auth_user, "");
	assert_string_equal(cfg->smtp_auth_password, "");
	assert_string_equal(cfg->smtp_helo_name, "");
	assert_int_equal(cfg->smtp_connect_timeout, 10);
	assert_int_equal(cfg->smtp_command_timeout, 60);
	assert_int_equal(cfg->smtp_workers, 4);
	assert_int_equal(cfg->smtp_messages_per_session, 100);
	assert_int_equal(cfg->smtp_max_retry_age, 72 * 3600);
	assert_int_equal(cfg->smtp_retry_base, 60);
	assert_string_equal(cfg->smtp_bounce_address, "");
	assert_int_equal(cfg->smtp_lease, 300);
	assert_string_equal(cfg->content_ad_marker, "<AD>");
	assert_string_equal(cfg->content_public_url, "http://127.0.0.1:9381");
	assert_string_equal(cfg->content_unsubscribe_key_file, "");
	assert_string_equal(cfg->content_unsubscribe_mailto, "");
	assert_string_equal(cfg->web_listen, "127.0.0.1:9381");
	assert_true(cfg->dkim_sign);
	assert_null(cfg->unsub_key);
	assert_int_equal(cfg->unsub_key_len, 0);
	assert_int_equal(cfg->ncreds, 2);
}

/* An empty file is all defaults, so it names /etc/sesd/credentials. */
static void
test_empty_file(void **state)
{
	struct fx *fx = *state;
	struct stat st;

	load_raw(fx, "");
	if (stat("/etc/sesd/credentials", &st) == 0)
		skip();
	expect_err(fx, "/etc/sesd/credentials", 0, "No such file or directory");
}

/* ---- values, table-driven ---------------------------------------------- */

struct value_case {
	const char *body; /* starts on line 3, inside [sesd] */
	int line;         /* of the error; 0 = must load */
	const char *msg;  /* after "file:line: " */
};

static const struct value_case value_cases[] = {
    /* int */
    {"shutdown_timeout = 1", 0, NULL},
    {"shutdown_timeout = 3600", 0, NULL},
    {"shutdown_timeout = 0", 3,
	"sesd.shutdown_timeout: 0 is out of range 1..3600"},
    {"shutdown_timeout = 3601", 3,
	"sesd.shutdown_timeout: 3601 is out of range 1..3600"},
    {"shutdown_timeout = -5", 3,
	"sesd.shutdown_timeout: -5 is out of range 1..3600"},
    {"shutdown_timeout = 12s", 3,
	"sesd.shutdown_timeout: \"12s\" is not an integer"},
    {"shutdown_timeout = +12", 3,
	"sesd.shutdown_timeout: \"+12\" is not an integer"},
    {"shutdown_timeout =", 3, "sesd.shutdown_timeout: \"\" is not an integer"},
    {"shutdown_timeout = 99999999999999999999", 3,
	"sesd.shutdown_timeout: \"99999999999999999999\" is not an integer"},
    {"[database]\npool_size = 64", 0, NULL},
    {"[database]\npool_size = 65", 4,
	"database.pool_size: 65 is out of range 1..64"},
    {"[database]\nreconnect_interval = 301", 4,
	"database.reconnect_interval: 301 is out of range 1..300"},
    {"[api]\nrate_limit = 0", 0, NULL},
    {"[api]\nrate_limit = -1", 4,
	"api.rate_limit: -1 is out of range 0..1000000"},
    {"[api]\ntimeout = 0", 4, "api.timeout: 0 is out of range 1..3600"},
    {"[limits]\ndomains = 0", 4, "limits.domains: 0 is out of range 1..100000"},
    {"[limits]\nsenders = 100001", 4,
	"limits.senders: 100001 is out of range 1..100000"},
    {"[limits]\ntemplates = 1000001", 4,
	"limits.templates: 1000001 is out of range 1..1000000"},
    {"[limits]\nreceivers = 0", 4,
	"limits.receivers: 0 is out of range 1..1000000"},
    {"[limits]\nreceivers_per_list = 100000000", 0, NULL},
    {"[limits]\nreceivers_per_list = 100000001", 4,
	"limits.receivers_per_list: 100000001 is out of range 1..100000000"},
    /* size */
    {"[api]\nmax_body = 1024", 0, NULL},
    {"[api]\nmax_body = 64M", 0, NULL},
    {"[api]\nmax_body = 1023", 4, "api.max_body: 1023 is out of range 1k..64M"},
    {"[api]\nmax_body = 65M", 4, "api.max_body: 65M is out of range 1k..64M"},
    {"[api]\nmax_body = 1G", 4, "api.max_body: 1G is out of range 1k..64M"},
    {"[api]\nmax_body = 99999999999999999G", 4,
	"api.max_body: 99999999999999999G is out of range 1k..64M"},
    {"[api]\nmax_body = 8MB", 4,
	"api.max_body: \"8MB\" is not a size (bytes, or a number with suffix "
	"k, "
	"M or G)"},
    {"[api]\nmax_body = 8X", 4,
	"api.max_body: \"8X\" is not a size (bytes, or a number with suffix k, "
	"M or G)"},
    {"[api]\nmax_body = M", 4,
	"api.max_body: \"M\" is not a size (bytes, or a number with suffix k, "
	"M "
	"or G)"},
    {"[api]\nmax_body = -1", 4,
	"api.max_body: \"-1\" is not a size (bytes, or a number with suffix k, "
	"M or G)"},
    {"[templates]\nmax_size = 16M", 0, NULL},
    {"[templates]\nmax_size = 17M", 4,
	"templates.max_size: 17M is out of range 1k..16M"},
    {"[templates]\nmax_size = 1k", 0, NULL},
    {"[templates]\nmax_size = 1000", 4,
	"templates.max_size: 1000 is out of range 1k..16M"},
    /* enum */
    {"[identity]\nverify = dns", 0, NULL},
    {"[identity]\nverify = DNS", 4,
	"identity.verify: \"DNS\" is not one of trust, dns"},
    {"[identity]\nverify = maybe", 4,
	"identity.verify: \"maybe\" is not one of trust, dns"},
    {"[templates]\nreview = manual", 0, NULL},
    {"[templates]\nreview = later", 4,
	"templates.review: \"later\" is not one of auto, manual"},
    /* log level */
    {"log_level = debug", 0, NULL},
    {"log_level = warning", 0, NULL},
    {"log_level = error", 0, NULL},
    {"log_level = warn", 3,
	"sesd.log_level: \"warn\" is not one of debug, info, warning, error"},
    {"log_level = verbose", 3,
	"sesd.log_level: \"verbose\" is not one of debug, info, warning, "
	"error"},
    /* host:port */
    {"[api]\nlisten = 0.0.0.0:65535", 0, NULL},
    {"[api]\nlisten = localhost:1", 0, NULL},
    {"[api]\nlisten = [::1]:9380", 0, NULL},
    {"[api]\nlisten = 127.0.0.1", 4,
	"api.listen: \"127.0.0.1\" is not host:port (port 1..65535)"},
    {"[api]\nlisten = :9380", 4,
	"api.listen: \":9380\" is not host:port (port 1..65535)"},
    {"[api]\nlisten = 127.0.0.1:0", 4,
	"api.listen: \"127.0.0.1:0\" is not host:port (port 1..65535)"},
    {"[api]\nlisten = 127.0.0.1:65536", 4,
	"api.listen: \"127.0.0.1:65536\" is not host:port (port 1..65535)"},
    {"[api]\nlisten = 127.0.0.1:http", 4,
	"api.listen: \"127.0.0.1:http\" is not host:port (port 1..65535)"},
    {"[api]\nlisten = 127.0.0.1:", 4,
	"api.listen: \"127.0.0.1:\" is not host:port (port 1..65535)"},
    {"[api]\nlisten = ::1:9380", 4,
	"api.listen: \"::1:9380\" is not host:port (port 1..65535)"},
    {"[api]\nlisten = [::1]", 4,
	"api.listen: \"[::1]\" is not host:port (port 1..65535)"},
    {"[api]\nlisten = \"\"", 4,
	"api.listen: \"\" is not host:port (port 1..65535)"},
    /* dns server: empty, host, host:port */
    {"[identity]\ndns_server = 8.8.8.8", 0, NULL},
    {"[identity]\ndns_server = 8.8.8.8:53", 0, NULL},
    {"[identity]\ndns_server = ns1.example.com", 0, NULL},
    {"[identity]\ndns_server = ::1", 0, NULL},
    {"[identity]\ndns_server = [::1]:5353", 0, NULL},
    {"[identity]\ndns_server =", 0, NULL},
    {"[identity]\ndns_server = 8.8.8.8:99999", 4,
	"identity.dns_server: \"8.8.8.8:99999\" is not host or host:port (port "
	"1..65535)"},
    {"[identity]\ndns_server = dns server", 4,
	"identity.dns_server: \"dns server\" is not host or host:port (port "
	"1..65535)"},
    /* time zone */
    {"time_zone = UTC", 0, NULL},
    {"time_zone = Etc/UTC", 0, NULL},
    {"time_zone = America/New_York", 0, NULL},
    {"time_zone = Mars/Olympus_Mons", 3,
	"sesd.time_zone: \"Mars/Olympus_Mons\" is not a time zone in "
	"/usr/share/zoneinfo"},
    {"time_zone = Asia", 3,
	"sesd.time_zone: \"Asia\" is not a time zone in /usr/share/zoneinfo"},
    {"time_zone = ../../../etc/passwd", 3,
	"sesd.time_zone: \"../../../etc/passwd\" is not a time zone in "
	"/usr/share/zoneinfo"},
    {"time_zone = Asia/../UTC", 3,
	"sesd.time_zone: \"Asia/../UTC\" is not a time zone in "
	"/usr/share/zoneinfo"},
    {"time_zone = /UTC", 3,
	"sesd.time_zone: \"/UTC\" is not a time zone in /usr/share/zoneinfo"},
    {"time_zone = UTC'", 3,
	"sesd.time_zone: \"UTC'\" is not a time zone in /usr/share/zoneinfo"},
    /* DNS label */
    {"[identity]\ndkim_selector = s2024-01", 0, NULL},
    {"[identity]\ndkim_selector = -sesd", 4,
	"identity.dkim_selector: \"-sesd\" is not a DNS label (1..63 letters, "
	"digits and hyphens, no hyphen at either end)"},
    {"[identity]\ndkim_selector = a.b", 4,
	"identity.dkim_selector: \"a.b\" is not a DNS label (1..63 letters, "
	"digits and hyphens, no hyphen at either end)"},
    {"[identity]\ndkim_selector = s_1", 4,
	"identity.dkim_selector: \"s_1\" is not a DNS label (1..63 letters, "
	"digits and hyphens, no hyphen at either end)"},
    {"[identity]\ndkim_selector = "
     "a234567890123456789012345678901234567890123456789012345678901234",
	4,
	"identity.dkim_selector: "
	"\"a234567890123456789012345678901234567890123456789012345678901234\" "
	"is not a DNS label (1..63 letters, digits and hyphens, no hyphen at "
	"either end)"},
    /* region list */
    {"[api]\nregions = ap-beijing", 0, NULL},
    {"[api]\nregions = ap-guangzhou,,ap-hongkong", 4,
	"api.regions: \"ap-guangzhou,,ap-hongkong\" is not a comma-separated "
	"list of names (a-z, 0-9, -)"},
    {"[api]\nregions = ap-guangzhou,", 4,
	"api.regions: \"ap-guangzhou,\" is not a comma-separated list of names "
	"(a-z, 0-9, -)"},
    {"[api]\nregions = AP-GUANGZHOU", 4,
	"api.regions: \"AP-GUANGZHOU\" is not a comma-separated list of names "
	"(a-z, 0-9, -)"},
    /* strings: never echoed */
    {"[database]\nconninfo = \"\"", 4, "database.conninfo: value is empty"},
    {"credentials_file = \"\"", 3,
	"duplicate key \"credentials_file\" in [sesd] (first on line 2)"},
    {"[identity]\nspf_record = \"v=spf1\ta\"", 4,
	"identity.spf_record: value contains a control character"},
    {"[identity]\nspf_record = \"v=spf1 -all", 4,
	"identity.spf_record: unterminated quote"},
    {"[identity]\nspf_record = \"", 4,
	"identity.spf_record: unterminated quote"},
    /* duration: seconds, or s/m/h/d */
    {"[smtp]\nmax_retry_age = 60", 0, NULL},
    {"[smtp]\nmax_retry_age = 1m", 0, NULL},
    {"[smtp]\nmax_retry_age = 30d", 0, NULL},
    {"[smtp]\nmax_retry_age = 720h", 0, NULL},
    {"[smtp]\nmax_retry_age = 59s", 4,
	"smtp.max_retry_age: 59s is out of range 1m..30d"},
    {"[smtp]\nmax_retry_age = 31d", 4,
	"smtp.max_retry_age: 31d is out of range 1m..30d"},
    {"[smtp]\nmax_retry_age = 99999999999999999999d", 4,
	"smtp.max_retry_age: \"99999999999999999999d\" is not a duration "
	"(seconds, or a number with suffix s, m, h or d)"},
    {"[smtp]\nmax_retry_age = 999999999999999999d", 4,
	"smtp.max_retry_age: 999999999999999999d is out of range 1m..30d"},
    {"[smtp]\nmax_retry_age = 72H", 4,
	"smtp.max_retry_age: \"72H\" is not a duration (seconds, or a number "
	"with suffix s, m, h or d)"},
    {"[smtp]\nmax_retry_age = 3w", 4,
	"smtp.max_retry_age: \"3w\" is not a duration (seconds, or a number "
	"with suffix s, m, h or d)"},
    {"[smtp]\nmax_retry_age = 1hm", 4,
	"smtp.max_retry_age: \"1hm\" is not a duration (seconds, or a number "
	"with suffix s, m, h or d)"},
    {"[smtp]\nmax_retry_age = h", 4,
	"smtp.max_retry_age: \"h\" is not a duration (seconds, or a number "
	"with suffix s, m, h or d)"},
    {"[smtp]\nmax_retry_age = -1h", 4,
	"smtp.max_retry_age: \"-1h\" is not a duration (seconds, or a number "
	"with suffix s, m, h or d)"},
    {"[smtp]\nmax_retry_age = 1.5h", 4,
	"smtp.max_retry_age: \"1.5h\" is not a duration (seconds, or a number "
	"with suffix s, m, h or d)"},
    {"[smtp]\nretry_base = 1s", 0, NULL},
    {"[smtp]\nretry_base = 0", 4, "smtp.retry_base: 0 is out of range 1s..1d"},
    {"[smtp]\nretry_base = 25h", 4,
	"smtp.retry_base: 25h is out of range 1s..1d"},
    {"[smtp]\nlease = 10", 0, NULL},
    {"[smtp]\nlease = 9s", 4, "smtp.lease: 9s is out of range 10s..1d"},
    /* cross-key rules */
    {"[smtp]\nmax_retry_age = 2m\nretry_base = 3m", 5,
	"smtp.retry_base: retry_base (3m) is longer than max_retry_age (2m)"},
    {"[smtp]\nretry_base = 2m\nmax_retry_age = 2m", 0, NULL},
    {"[smtp]\nauth_user = relayuser\nauth_password = \"p w\"", 0, NULL},
    {"[smtp]\n\nauth_user = relayuser", 5,
	"smtp.auth_user: set auth_user and auth_password together (or "
	"neither)"},
    {"[smtp]\nauth_password = s3cret", 4,
	"smtp.auth_password: set auth_user and auth_password together (or "
	"neither)"},
    /* yes/no */
    {"[dkim]\nsign = no", 0, NULL},
    {"[dkim]\nsign = yes", 0, NULL},
    {"[dkim]\nsign = true", 4, "dkim.sign: \"true\" is not yes or no"},
    {"[dkim]\nsign = YES", 4, "dkim.sign: \"YES\" is not yes or no"},
    {"[dkim]\nsign = 1", 4, "dkim.sign: \"1\" is not yes or no"},
    {"[dkim]\nsign =", 4, "dkim.sign: \"\" is not yes or no"},
    /* URL */
    {"[content]\npublic_url = https://mail.example.com", 0, NULL},
    {"[content]\npublic_url = HTTPS://mail.example.com/", 0, NULL},
    {"[content]\npublic_url = https://mail.example.com:8443/ses/u", 0, NULL},
    {"[content]\npublic_url = http://[::1]:9381", 0, NULL},
    {"[content]\npublic_url = http://127.0.0.1:9381/a%20b/", 0, NULL},
    {"[content]\npublic_url = ftp://mail.example.com", 4,
	"content.public_url: \"ftp://mail.example.com\" is not an http:// or "
	"https:// URL of at most 200 bytes (host[:port][/path], no user, "
	"query or fragment)"},
    {"[content]\npublic_url = mail.example.com", 4,
	"content.public_url: \"mail.example.com\" is not an http:// or "
	"https:// URL of at most 200 bytes (host[:port][/path], no user, "
	"query or fragment)"},
    {"[content]\npublic_url = https://", 4,
	"content.public_url: \"https://\" is not an http:// or https:// URL "
	"of at most 200 bytes (host[:port][/path], no user, query or "
	"fragment)"},
    {"[content]\npublic_url = https:///path", 4,
	"content.public_url: \"https:///path\" is not an http:// or https:// "
	"URL of at most 200 bytes (host[:port][/path], no user, query or "
	"fragment)"},
    {"[content]\npublic_url = https://x.example?a=1", 4,
	"content.public_url: \"https://x.example?a=1\" is not an http:// or "
	"https:// URL of at most 200 bytes (host[:port][/path], no user, "
	"query or fragment)"},
    {"[content]\npublic_url = https://x.example/#top", 4,
	"content.public_url: \"https://x.example/#top\" is not an http:// or "
	"https:// URL of at most 200 bytes (host[:port][/path], no user, "
	"query or fragment)"},
    {"[content]\npublic_url = https://u:p@x.example/", 4,
	"content.public_url: \"https://u:p@x.example/\" is not an http:// or "
	"https:// URL of at most 200 bytes (host[:port][/path], no user, "
	"query or fragment)"},
    {"[content]\npublic_url = https://x.example:0/", 4,
	"content.public_url: \"https://x.example:0/\" is not an http:// or "
	"https:// URL of at most 200 bytes (host[:port][/path], no user, "
	"query or fragment)"},
    {"[content]\npublic_url = http://::1/", 4,
	"content.public_url: \"http://::1/\" is not an http:// or https:// "
	"URL of at most 200 bytes (host[:port][/path], no user, query or "
	"fragment)"},
    {"[content]\npublic_url = \"https://x.example/a b\"", 4,
	"content.public_url: \"https://x.example/a b\" is not an http:// or "
	"https:// URL of at most 200 bytes (host[:port][/path], no user, "
	"query or fragment)"},
    {"[content]\npublic_url = https://x.example/<x>", 4,
	"content.public_url: \"https://x.example/<x>\" is not an http:// or "
	"https:// URL of at most 200 bytes (host[:port][/path], no user, "
	"query or fragment)"},
    /* other string types of the delivery keys */
    {"[content]\nad_marker = \"[Ad]\"", 0, NULL},
    {"[content]\nad_marker = \"\"", 4, "content.ad_marker: value is empty"},
    {"[content]\nad_marker = 123456789012345678901234567890123", 4,
	"content.ad_marker: value is longer than 32 characters"},
    {"[content]\nunsubscribe_mailto = unsub@example.com", 0, NULL},
    {"[content]\nunsubscribe_mailto = unsub", 4,
	"content.unsubscribe_mailto: \"unsub\" is not an email address "
	"(local@domain)"},
    {"[smtp]\nbounce_address = bounces@example.com", 0, NULL},
    {"[smtp]\nbounce_address = \"a b@example.com\"", 4,
	"smtp.bounce_address: \"a b@example.com\" is not an email address "
	"(local@domain)"},
    {"[smtp]\nrelay_host = smtp.example.com", 0, NULL},
    {"[smtp]\nrelay_host = ::1", 0, NULL},
    {"[smtp]\nrelay_host = 2001:db8::25", 0, NULL},
    {"[smtp]\nrelay_host = \"[::1]\"", 4,
	"smtp.relay_host: \"[::1]\" is not a host name or IP address"},
    {"[smtp]\nrelay_host = \"\"", 4,
	"smtp.relay_host: \"\" is not a host name or IP address"},
    {"[smtp]\nrelay_host = smtp.example.com:25", 4,
	"smtp.relay_host: \"smtp.example.com:25\" is not a host name or IP "
	"address"},
    {"[smtp]\nhelo_name = mx1.example.com", 0, NULL},
    {"[smtp]\nhelo_name = \"\"", 0, NULL},
    {"[smtp]\nhelo_name = mx1..example.com", 4,
	"smtp.helo_name: \"mx1..example.com\" is not a host name (DNS labels "
	"separated by dots)"},
    {"[smtp]\nhelo_name = mx_1.example.com", 4,
	"smtp.helo_name: \"mx_1.example.com\" is not a host name (DNS labels "
	"separated by dots)"},
    {"[smtp]\nstarttls = required", 0, NULL},
    {"[smtp]\nstarttls = always", 4,
	"smtp.starttls: \"always\" is not one of none, opportunistic, "
	"required"},
    {"[smtp]\nrelay_port = 65536", 4,
	"smtp.relay_port: 65536 is out of range 1..65535"},
    {"[smtp]\nworkers = 65", 4, "smtp.workers: 65 is out of range 0..64"},
    {"[smtp]\nmessages_per_session = 0", 4,
	"smtp.messages_per_session: 0 is out of range 1..10000"},
    {"[smtp]\nconnect_timeout = 301", 4,
	"smtp.connect_timeout: 301 is out of range 1..300"},
    {"[web]\nlisten = 0.0.0.0:80", 0, NULL},
    {"[web]\nlisten = 9381", 4,
	"web.listen: \"9381\" is not host:port (port 1..65535)"},
    /* structure */
    {"[nope]", 3, "unknown section [nope]"},
    {"[api]\nfoo = 1", 4, "unknown key \"foo\" in [api]"},
    {"pool_size = 4", 3, "unknown key \"pool_size\" in [sesd]"},
    {"[api]\nlisten 127.0.0.1:1", 4, "expected \"key = value\""},
    {"[api]\n= 5", 4, "expected \"key = value\""},
    {"[api", 3, "expected \"[section]\""},
    {"[api] # listener", 3, "expected \"[section]\""},
    {"log_level = info\n\n# again\nlog_level = debug", 6,
	"duplicate key \"log_level\" in [sesd] (first on line 3)"},
    {"[api]\ntimeout = 5\n[limits]\n[api]\ntimeout = 6", 7,
	"duplicate key \"timeout\" in [api] (first on line 4)"},
};

static void
test_values(void **state)
{
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]);
	     i++) {
		const struct value_case *c = &value_cases[i];
		struct config *cfg = load_body(fx, c->body);

		if (c->line == 0) {
			if (cfg == NULL)
				fail_msg(
				    "case %zu \"%s\": %s", i, c->body, fx->err);
			continue;
		}
		if (cfg != NULL)
			fail_msg("case %zu \"%s\": loaded", i, c->body);
		expect_err(fx, fx->conf, c->line, c->msg);
	}
}

static void
test_sizes(void **state)
{
	static const struct {
		const char *text;
		size_t bytes;
	} cases[] = {
	    {"1024", 1024},
	    {"1k", 1024},
	    {"512k", 512 * 1024},
	    {"512K", 512 * 1024},
	    {"2m", 2 * 1024 * 1024},
	    {"2M", 2 * 1024 * 1024},
	    {"64M", 64 * 1024 * 1024},
	    {"67108864", 64 * 1024 * 1024},
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *body = xasprintf("[api]\nmax_body = %s", cases[i].text);
		struct config *cfg = load_body(fx, body);
		free(body);
		if (cfg == NULL)
			fail_msg("%s: %s", cases[i].text, fx->err);
		assert_int_equal(cfg->api_max_body, cases[i].bytes);
	}
	/* g/G parse too; no key allows a gigabyte, so it is out of range */
	load_body(fx, "[templates]\nmax_size = 1g");
	expect_err(
	    fx, fx->conf, 4, "templates.max_size: 1g is out of range 1k..16M");
}

static void
test_enums(void **state)
{
	struct fx *fx = *state;
	struct config *cfg;

	cfg = load_body(fx, "[identity]\nverify = dns\n[templates]\n"
			    "review = manual\n");
	assert_non_null(cfg);
	assert_int_equal(cfg->identity_verify, VERIFY_DNS);
	assert_int_equal(cfg->templates_review, REVIEW_MANUAL);
	cfg = load_body(fx, "[identity]\nverify = trust\n[templates]\n"
			    "review = auto\n");
	assert_non_null(cfg);
	assert_int_equal(cfg->identity_verify, VERIFY_TRUST);
	assert_int_equal(cfg->templates_review, REVIEW_AUTO);
}

static void
test_durations(void **state)
{
	static const struct {
		const char *text;
		int secs;
	} cases[] = {
	    {"60", 60},
	    {"60s", 60},
	    {"1m", 60},
	    {"90m", 90 * 60},
	    {"72h", 72 * 3600},
	    {"3d", 3 * 86400},
	    {"30d", 30 * 86400},
	    {"2592000", 30 * 86400},
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *body =
		    xasprintf("[smtp]\nmax_retry_age = %s", cases[i].text);
		struct config *cfg = load_body(fx, body);
		free(body);
		if (cfg == NULL)
			fail_msg("%s: %s", cases[i].text, fx->err);
		assert_int_equal(cfg->smtp_max_retry_age, cases[i].secs);
	}
	/* the range names the bounds in their largest exact unit */
	load_body(fx, "[smtp]\nlease = 86401");
	expect_err(
	    fx, fx->conf, 4, "smtp.lease: 86401 is out of range 10s..1d");
}

/* yes/no, the STARTTLS enum and the delivery strings as stored. */
static void
test_delivery_keys(void **state)
{
	struct fx *fx = *state;
	struct config *cfg;

	cfg = load_body(fx, "[smtp]\n"
			    "relay_host = relay.example.com\n"
			    "relay_port = 587\n"
			    "starttls = required\n"
			    "auth_user = \"ses user\"\n"
			    "auth_password = \"p@ss word\"\n"
			    "helo_name = mx1.example.com\n"
			    "workers = 64\n"
			    "retry_base = 5m\n"
			    "lease = 1d\n"
			    "bounce_address = b@example.com\n"
			    "[content]\n"
			    "ad_marker = \"[AD]\"\n"
			    "public_url = https://mail.example.com/ses/\n"
			    "unsubscribe_mailto = u@example.com\n"
			    "[web]\n"
			    "listen = 0.0.0.0:8080\n"
			    "[dkim]\n"
			    "sign = no\n");
	if (cfg == NULL)
		fail_msg("%s", fx->err);
	assert_string_equal(cfg->smtp_relay_host, "relay.example.com");
	assert_int_equal(cfg->smtp_relay_port, 587);
	assert_int_equal(cfg->smtp_starttls, STARTTLS_REQUIRED);
	assert_string_equal(cfg->smtp_auth_user, "ses user");
	assert_string_equal(cfg->smtp_auth_password, "p@ss word");
	assert_string_equal(cfg->smtp_helo_name, "mx1.example.com");
	assert_int_equal(cfg->smtp_workers, 64);
	assert_int_equal(cfg->smtp_retry_base, 300);
	assert_int_equal(cfg->smtp_lease, 86400);
	assert_string_equal(cfg->smtp_bounce_address, "b@example.com");
	assert_string_equal(cfg->content_ad_marker, "[AD]");
	assert_string_equal(
	    cfg->content_public_url, "https://mail.example.com/ses/");
	assert_string_equal(cfg->content_unsubscribe_mailto, "u@example.com");
	assert_string_equal(cfg->web_listen, "0.0.0.0:8080");
	assert_false(cfg->dkim_sign);

	cfg = load_body(fx, "[smtp]\nstarttls = none\n[dkim]\nsign = yes\n");
	assert_non_null(cfg);
	assert_int_equal(cfg->smtp_starttls, STARTTLS_NONE);
	assert_true(cfg->dkim_sign);

	/* a password is never echoed, even when it is refused */
	load_body(fx, "[smtp]\nauth_user = u\nauth_password = \"sec\tret\"\n");
	expect_err(fx, fx->conf, 5,
	    "smtp.auth_password: value contains a control character");
}

/* ---- unsubscribe key file ---------------------------------------------- */

/* A config naming a key file with these bytes and mode. */
static struct config *
load_key(struct fx *fx, const void *key, size_t len, mode_t mode, char **path)
{
	char *body;

	*path = tmp_write_n(key, len, mode);
	body = xasprintf("[content]\nunsubscribe_key_file = %s\n", *path);
	load_body(fx, body);
	free(body);
	return fx->cfg;
}

static void
test_unsub_key(void **state)
{
	struct fx *fx = *state;
	unsigned char key[300];
	char *path;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1); /* NULs and newlines too */
	key[5] = '\0';
	key[6] = '\n';

	/* 32 and 256 bytes load as they are, binary included */
	if (load_key(fx, key, 32, 0600, &path) == NULL)
		fail_msg("%s", fx->err);
	assert_int_equal(fx->cfg->unsub_key_len, 32);
	assert_memory_equal(fx->cfg->unsub_key, key, 32);
	assert_string_equal(fx->cfg->content_unsubscribe_key_file, path);
	unlink(path);
	free(path);
	if (load_key(fx, key, 256, 0400, &path) == NULL)
		fail_msg("%s", fx->err);
	assert_int_equal(fx->cfg->unsub_key_len, 256);
	assert_memory_equal(fx->cfg->unsub_key, key, 256);
	unlink(path);
	free(path);

	/* too short, too long */
	load_key(fx, key, 31, 0600, &path);
	expect_err(fx, path, 0,
	    "an unsubscribe key must be 32..256 bytes, this file has 31 (make "
	    "one with: umask 077; head -c 32 /dev/urandom > FILE)");
	unlink(path);
	free(path);
	load_key(fx, key, 0, 0600, &path);
	expect_err(fx, path, 0,
	    "an unsubscribe key must be 32..256 bytes, this file has 0 (make "
	    "one with: umask 077; head -c 32 /dev/urandom > FILE)");
	unlink(path);
	free(path);
	load_key(fx, key, 257, 0600, &path);
	expect_err(fx, path, 0,
	    "an unsubscribe key must be 32..256 bytes, this file has more "
	    "than 256 (make one with: umask 077; head -c 32 /dev/urandom > "
	    "FILE)");
	unlink(path);
	free(path);

	/* readable by others, missing, not a file */
	load_key(fx, key, 32, 0640, &path);
	expect_err(fx, path, 0,
	    "readable by group or others (mode 0640); chmod 600 it");
	unlink(path);
	free(path);
	load_body(
	    fx, "[content]\nunsubscribe_key_file = /tmp/sesd-test-none/k\n");
	expect_err(fx, "/tmp/sesd-test-none/k", 0, "No such file or directory");
	load_body(fx, "[content]\nunsubscribe_key_file = /tmp\n");
	expect_err(fx, "/tmp", 0, "not a regular file");
}

/* A relative key file is found beside the config file. */
static void
test_unsub_key_relative(void **state)
{
	struct fx *fx = *state;
	char dir[] = "/tmp/sesd-test-XXXXXX";
	char *conf, *key, *text;
	FILE *f;
	int fd;

	assert_non_null(mkdtemp(dir));
	conf = xasprintf("%s/sesd.conf", dir);
	key = xasprintf("%s/unsubscribe.key", dir);
	fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
	close(fd);
	text = xasprintf("[sesd]\ncredentials_file = %s\n[content]\n"
			 "unsubscribe_key_file = unsubscribe.key\n",
	    fx->cred);
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(text);

	fx->cfg = config_load(conf, fx->err, sizeof(fx->err));
	if (fx->cfg == NULL)
		fail_msg("%s", fx->err);
	assert_string_equal(fx->cfg->content_unsubscribe_key_file, key);
	assert_int_equal(fx->cfg->unsub_key_len, 32);
	assert_memory_equal(
	    fx->cfg->unsub_key, "0123456789abcdef0123456789abcdef", 32);

	unlink(conf);
	unlink(key);
	assert_int_equal(rmdir(dir), 0);
	free(conf);
	free(key);
}

/* Comments, blanks, trimming, quotes, CRLF. */
static void
test_syntax(void **state)
{
	struct fx *fx = *state;
	struct config *cfg = load_body(fx,
	    "# a comment\r\n"
	    "; another comment\n"
	    "   \t\n"
	    "\t  shutdown_timeout\t=   45   \r\n"
	    "log_level = \"debug\"\n"
	    "  [ database ]  \n"
	    "conninfo = \"host=/tmp dbname=x port=5433\"\n"
	    "[identity]\n"
	    "spf_record = v=spf1 include:\"x\"\n"
	    "dmarc_record = \"v=DMARC1; p=reject; rua=mailto:d@example.com\"\n"
	    "dns_server = \"\"\n"
	    "dkim_selector = \"s1\"\n");

	if (cfg == NULL)
		fail_msg("%s", fx->err);
	assert_int_equal(cfg->shutdown_timeout, 45);
	assert_string_equal(cfg->log_level, "debug");
	assert_string_equal(cfg->db_conninfo, "host=/tmp dbname=x port=5433");
	assert_string_equal(cfg->identity_spf_record, "v=spf1 include:\"x\"");
	assert_string_equal(cfg->identity_dmarc_record,
	    "v=DMARC1; p=reject; rua=mailto:d@example.com");
	assert_string_equal(cfg->identity_dns_server, "");
	assert_string_equal(cfg->identity_dkim_selector, "s1");
	assert_int_equal(cfg->db_pool_size, 4);

	/* spaces inside the quotes are kept, and a label has none */
	load_body(fx, "[identity]\ndkim_selector = \"  s1  \"\n");
	expect_err(fx, fx->conf, 4,
	    "identity.dkim_selector: \"  s1  \" is not a DNS label (1..63 "
	    "letters, digits and hyphens, no hyphen at either end)");
}

static void
test_structure(void **state)
{
	struct fx *fx = *state;
	static const char nul[] = "[sesd]\nlog\0_level = info\n";
	char *path;

	load_raw(fx, "# top\nlog_level = info\n");
	expect_err(fx, fx->conf, 2, "key \"log_level\" outside any [section]");

	path = tmp_write_n(nul, sizeof(nul) - 1, 0644);
	fx->cfg = config_load(path, fx->err, sizeof(fx->err));
	expect_err(fx, path, 2, "NUL byte in line");
	unlink(path);
	free(path);

	fx->cfg = config_load("/tmp/sesd-test-does-not-exist/sesd.conf",
	    fx->err, sizeof(fx->err));
	expect_err(fx, "/tmp/sesd-test-does-not-exist/sesd.conf", 0,
	    "No such file or directory");
}

/* ---- credentials ------------------------------------------------------- */

static void
test_creds_good(void **state)
{
	struct fx *fx = *state;
	struct config *cfg = load_body(fx, "");
	char key128[129], *path, *text;

	assert_non_null(cfg);
	assert_int_equal(cfg->ncreds, 2);
	assert_string_equal(cfg->creds[0].secret_id, "AKIDtest1");
	assert_string_equal(cfg->creds[0].secret_key, "secretkey1");
	assert_int_equal(cfg->creds[0].app_id, 1250000001);
	assert_string_equal(cfg->creds[1].secret_id, "AKIDtest2");
	assert_string_equal(cfg->creds[1].secret_key, "secretkey2");
	assert_int_equal(cfg->creds[1].app_id, 1250000002);

	/* longest key, largest AppId, CRLF, printable punctuation */
	memset(key128, 'k', 128);
	key128[128] = '\0';
	text = xasprintf("AKID-x_1 %s 18446744073709551615\r\n"
			 "AKID2 a+b/c=~!\"'` 1\n",
	    key128);
	cfg = load_creds(fx, text, 0600, &path);
	free(text);
	if (cfg == NULL)
		fail_msg("%s", fx->err);
	assert_int_equal(cfg->ncreds, 2);
	assert_string_equal(cfg->creds[0].secret_key, key128);
	assert_true(cfg->creds[0].app_id == UINT64_MAX);
	assert_string_equal(cfg->creds[1].secret_key, "a+b/c=~!\"'`");
	unlink(path);
	free(path);
}

static void
test_creds_mode(void **state)
{
	struct fx *fx = *state;
	static const mode_t bad[] = {0644, 0640, 0604, 0620, 0602};
	char *path, want[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		load_creds(fx, GOOD_CREDS, bad[i], &path);
		snprintf(want, sizeof(want),
		    "readable by group or others (mode %04o); chmod 600 it",
		    (unsigned)bad[i]);
		expect_err(fx, path, 0, want);
		unlink(path);
		free(path);
	}
	assert_non_null(load_creds(fx, GOOD_CREDS, 0600, &path));
	unlink(path);
	free(path);
	assert_non_null(load_creds(fx, GOOD_CREDS, 0400, &path));
	unlink(path);
	free(path);

	/* a directory is not a credentials file */
	load_raw(fx, "[sesd]\ncredentials_file = /tmp\n");
	expect_err(fx, "/tmp", 0, "not a regular file");
	load_raw(fx, "[sesd]\ncredentials_file = /tmp/sesd-test-none/creds\n");
	expect_err(
	    fx, "/tmp/sesd-test-none/creds", 0, "No such file or directory");
}

static void
test_creds_bad(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *msg;
	} cases[] = {
	    {"AKID1 key abc\n", 1,
		"AppId \"abc\" is not a positive decimal integer"},
	    {"# x\nAKID1 key 0\n", 2,
		"AppId \"0\" is not a positive decimal integer"},
	    {"AKID1 key -5\n", 1,
		"AppId \"-5\" is not a positive decimal integer"},
	    {"AKID1 key +5\n", 1,
		"AppId \"+5\" is not a positive decimal integer"},
	    {"AKID1 key 12x\n", 1,
		"AppId \"12x\" is not a positive decimal integer"},
	    {"AKID1 key 18446744073709551616\n", 1,
		"AppId \"18446744073709551616\" is not a positive decimal "
		"integer"},
	    {"# c\nAKID1 k1 1\n\nAKID1 k2 2\n", 4,
		"duplicate SecretId \"AKID1\" (first on line 2)"},
	    {"AKID1 k1\n", 1, "expected \"SecretId SecretKey AppId\""},
	    {"AKID1 k1 1 extra\n", 1, "expected \"SecretId SecretKey AppId\""},
	    {"AKID1 k1 1 # comment\n", 1,
		"expected \"SecretId SecretKey AppId\""},
	    {"AKID\xc3\xa9 k1 1\n", 1,
		"SecretId must be 1..128 printable ASCII characters"},
	    {"AKID1 k\x01y 1\n", 1,
		"SecretKey must be 1..128 printable ASCII characters"},
	    {"AKID1 "
	     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	     " 1\n",
		1, "SecretKey must be 1..128 printable ASCII characters"},
	    {"# only a comment\n\n", 0,
		"no credentials (one \"SecretId SecretKey AppId\" per line)"},
	    {"", 0,
		"no credentials (one \"SecretId SecretKey AppId\" per line)"},
	};
	struct fx *fx = *state;
	char *path;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (load_creds(fx, cases[i].text, 0600, &path) != NULL)
			fail_msg("case %zu loaded", i);
		expect_err(fx, path, cases[i].line, cases[i].msg);
		unlink(path);
		free(path);
	}
}

/* A relative credentials_file is found beside the config file. */
static void
test_creds_relative(void **state)
{
	struct fx *fx = *state;
	char dir[] = "/tmp/sesd-test-XXXXXX", cwd[PATH_MAX];
	char *conf, *cred, *want;
	FILE *f;
	int fd;

	assert_non_null(mkdtemp(dir));
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	conf = xasprintf("%s/sesd.conf", dir);
	cred = xasprintf("%s/creds", dir);
	fd = open(cred, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, GOOD_CREDS, strlen(GOOD_CREDS)),
	    (ssize_t)strlen(GOOD_CREDS));
	close(fd);
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs("[sesd]\ncredentials_file = creds\n", f);
	fclose(f);

	fx->cfg = config_load(conf, fx->err, sizeof(fx->err));
	if (fx->cfg == NULL)
		fail_msg("%s", fx->err);
	assert_string_equal(fx->cfg->credentials_file, cred);
	assert_int_equal(fx->cfg->ncreds, 2);
	config_free(fx->cfg);
	fx->cfg = NULL;

	/* a bare file name: both are relative to the working directory */
	assert_int_equal(chdir(dir), 0);
	fx->cfg = config_load("sesd.conf", fx->err, sizeof(fx->err));
	if (fx->cfg == NULL)
		fail_msg("%s", fx->err);
	assert_string_equal(fx->cfg->credentials_file, "creds");
	config_free(fx->cfg);
	fx->cfg = NULL;
	f = fopen("sesd.conf", "w");
	assert_non_null(f);
	fputs("[sesd]\ncredentials_file = creds\n[api]\nfoo = 1\n", f);
	fclose(f);
	fx->cfg = config_load("sesd.conf", fx->err, sizeof(fx->err));
	expect_err(fx, "sesd.conf", 4, "unknown key \"foo\" in [api]");
	assert_int_equal(chdir(cwd), 0);

	/* the error names the resolved path */
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs("[sesd]\ncredentials_file = creds\n", f);
	fclose(f);
	assert_int_equal(chmod(cred, 0644), 0);
	fx->cfg = config_load(conf, fx->err, sizeof(fx->err));
	want = xasprintf("%s: readable by group or others (mode 0644); chmod "
			 "600 it",
	    cred);
	assert_null(fx->cfg);
	assert_string_equal(fx->err, want);
	free(want);

	unlink(conf);
	unlink(cred);
	assert_int_equal(rmdir(dir), 0);
	free(conf);
	free(cred);
}

/* ---- lookups ----------------------------------------------------------- */

static void
test_find_cred(void **state)
{
	struct fx *fx = *state;
	struct config *cfg = load_body(fx, "");
	const struct cred *c;

	assert_non_null(cfg);
	c = config_find_cred(cfg, "AKIDtest2");
	assert_non_null(c);
	assert_string_equal(c->secret_key, "secretkey2");
	assert_int_equal(c->app_id, 1250000002);
	assert_ptr_equal(config_find_cred(cfg, "AKIDtest1"), &cfg->creds[0]);
	assert_null(config_find_cred(cfg, "AKIDtest"));
	assert_null(config_find_cred(cfg, "AKIDtest11"));
	assert_null(config_find_cred(cfg, "akidtest1"));
	assert_null(config_find_cred(cfg, ""));
}

static void
test_region_ok(void **state)
{
	struct fx *fx = *state;
	struct config *cfg = load_body(fx, "");

	assert_non_null(cfg);
	assert_true(config_region_ok(cfg, "ap-guangzhou"));
	assert_true(config_region_ok(cfg, "ap-hongkong"));
	assert_true(config_region_ok(cfg, "ap-singapore"));
	assert_false(config_region_ok(cfg, "ap-guang"));
	assert_false(config_region_ok(cfg, "ap-guangzhou,ap-hongkong"));
	assert_false(config_region_ok(cfg, "ap-singapore2"));
	assert_false(config_region_ok(cfg, "AP-GUANGZHOU"));
	assert_false(config_region_ok(cfg, ""));
	assert_false(config_region_ok(cfg, NULL));

	cfg = load_body(fx, "[api]\nregions = ap-beijing\n");
	assert_non_null(cfg);
	assert_true(config_region_ok(cfg, "ap-beijing"));
	assert_false(config_region_ok(cfg, "ap-guangzhou"));
}

/* ---- reload ------------------------------------------------------------ */

static void
test_keep_restart_keys(void **state)
{
	struct fx *fx = *state;
	struct config *old, *new;
	char *log_path, *log;
	int saved, fd;

	old = load_body(fx, "");
	assert_non_null(old);
	fx->cfg = NULL; /* keep old */
	new = load_body(fx, "time_zone = UTC\n"
			    "shutdown_timeout = 60\n"
			    "[database]\n"
			    "conninfo = \"dbname=other\"\n"
			    "pool_size = 8\n"
			    "reconnect_interval = 5\n"
			    "[api]\n"
			    "listen = 0.0.0.0:1\n"
			    "rate_limit = 0\n"
			    "max_body = 1M\n"
			    "[smtp]\n"
			    "workers = 9\n"
			    "lease = 1h\n"
			    "[web]\n"
			    "listen = 0.0.0.0:2\n"
			    "[dkim]\n"
			    "sign = no\n");
	if (new == NULL)
		fail_msg("%s", fx->err);

	/* capture the warnings log.c writes to stderr */
	log_path = tmp_write("", 0600);
	fd = open(log_path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	config_keep_restart_keys(old, new);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);

	/* restart-only keys keep the running values */
	assert_string_equal(new->time_zone, "Asia/Shanghai");
	assert_string_equal(
	    new->db_conninfo, "host=/var/run/postgresql dbname=sesd");
	assert_int_equal(new->db_pool_size, 4);
	assert_string_equal(new->api_listen, "127.0.0.1:9380");
	assert_int_equal(new->smtp_workers, 4);
	assert_string_equal(new->web_listen, "127.0.0.1:9381");
	/* the others take the new ones */
	assert_int_equal(new->smtp_lease, 3600);
	assert_false(new->dkim_sign);
	assert_int_equal(new->shutdown_timeout, 60);
	assert_int_equal(new->db_reconnect_interval, 5);
	assert_int_equal(new->api_rate_limit, 0);
	assert_int_equal(new->api_max_body, 1024 * 1024);

	log = read_all(log_path);
	assert_non_null(strstr(log, "config: sesd.time_zone changed; restart "
				    "sesd to apply"));
	assert_non_null(strstr(log, "config: database.conninfo changed; "
				    "restart sesd to apply"));
	assert_non_null(strstr(log, "config: database.pool_size changed; "
				    "restart sesd to apply"));
	assert_non_null(strstr(log, "config: api.listen changed; restart "
				    "sesd to apply"));
	assert_non_null(strstr(log, "config: smtp.workers changed; restart "
				    "sesd to apply"));
	assert_non_null(strstr(log, "config: web.listen changed; restart "
				    "sesd to apply"));
	assert_null(strstr(log, "lease"));
	assert_null(strstr(log, "dkim"));
	assert_null(strstr(log, "shutdown_timeout"));
	assert_null(strstr(log, "rate_limit"));
	free(log);

	/* nothing differs now: no warning, nothing changes */
	fd = open(log_path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	config_keep_restart_keys(old, new);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	log = read_all(log_path);
	assert_string_equal(log, "");
	free(log);
	assert_int_equal(new->shutdown_timeout, 60);

	unlink(log_path);
	free(log_path);
	config_free(old);
	fx->cfg = new; /* teardown frees it */
}

/* ---- the key table and conf/sesd.conf ----------------------------------- */

static void
test_keys_table(void **state)
{
	const struct config_key_info *keys = config_keys();
	size_t n = 0;

	(void)state;
	for (; keys[n].name != NULL; n++) {
		assert_non_null(keys[n].section);
		assert_non_null(keys[n].def);
		for (size_t j = 0; j < n; j++)
			assert_false(
			    strcmp(keys[j].section, keys[n].section) == 0 &&
			    strcmp(keys[j].name, keys[n].name) == 0);
	}
	assert_null(keys[n].section);
	assert_null(keys[n].def);
	assert_int_equal(n, 45);
}

/* Cuts the next line off *p (which advances); NULL at the end. */
static char *
next_line(char **p)
{
	char *line = *p, *nl;

	if (*line == '\0')
		return NULL;
	nl = strchr(line, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else
		*p = line + strlen(line);
	return line;
}

/*
 * conf/sesd.conf lists every key once, in its section, with exactly the
 * table's default and a one-line comment right above it; and it loads.
 */
static void
test_example_conf(void **state)
{
	struct fx *fx = *state;
	const struct config_key_info *keys = config_keys();
	const char *src = getenv("SESD_SOURCE_DIR");
	char *path, *text, *copy, *p, *line, *section = NULL, *prev = NULL;
	size_t nkeys = 0, found[64] = {0};
	struct buf b;
	int lineno = 0, rewritten = 0;

	if (src == NULL)
		fail_msg("SESD_SOURCE_DIR is not set (ctest sets it)");
	path = xasprintf("%s/conf/sesd.conf", src);
	text = read_all(path);
	while (keys[nkeys].name != NULL)
		nkeys++;
	assert_true(nkeys <= sizeof(found) / sizeof(found[0]));

	/* a copy whose credentials_file is the fixture's must load */
	buf_init(&b);
	copy = xstrdup(text);
	for (p = copy; (line = next_line(&p)) != NULL;) {
		if (strncmp(line, "credentials_file =", 18) == 0) {
			buf_addf(&b, "credentials_file = %s\n", fx->cred);
			rewritten++;
		} else
			buf_addf(&b, "%s\n", line);
	}
	free(copy);
	assert_int_equal(rewritten, 1);
	if (load_raw(fx, b.data) == NULL)
		fail_msg("conf/sesd.conf: %s", fx->err);
	buf_reset(&b);

	/* every key: once, under its section, default value, comment above */
	for (p = text; (line = next_line(&p)) != NULL; prev = line) {
		char *eq, *name, *value;
		size_t i;

		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (line[0] == '[') {
			section = line + 1;
			section[strcspn(section, "]")] = '\0';
			continue;
		}
		eq = strstr(line, " = ");
		if (eq == NULL)
			fail_msg("%s:%d: not \"key = value\"", path, lineno);
		*eq = '\0';
		name = line;
		value = unquote(eq + 3);
		for (i = 0; i < nkeys; i++)
			if (section != NULL &&
			    strcmp(keys[i].section, section) == 0 &&
			    strcmp(keys[i].name, name) == 0)
				break;
		if (i == nkeys)
			fail_msg("%s:%d: key %s not in the table", path, lineno,
			    name);
		if (strcmp(value, keys[i].def) != 0)
			fail_msg("%s:%d: %s.%s = \"%s\", table default \"%s\"",
			    path, lineno, keys[i].section, name, value,
			    keys[i].def);
		if (prev == NULL || prev[0] != '#')
			fail_msg("%s:%d: %s.%s has no comment line above it",
			    path, lineno, keys[i].section, name);
		found[i]++;
	}
	for (size_t i = 0; i < nkeys; i++)
		if (found[i] != 1)
			fail_msg("conf/sesd.conf lists %s.%s %zu times",
			    keys[i].section, keys[i].name, found[i]);
	free(text);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_defaults, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_empty_file, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_values, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_sizes, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_enums, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_durations, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_delivery_keys, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_unsub_key, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_unsub_key_relative, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_syntax, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_structure, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_creds_good, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_creds_mode, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_creds_bad, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_creds_relative, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_find_cred, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_region_ok, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_keep_restart_keys, fx_setup, fx_teardown),
	    cmocka_unit_test(test_keys_table),
	    cmocka_unit_test_setup_teardown(
		test_example_conf, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
