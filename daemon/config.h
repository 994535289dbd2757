/*
 * config.h: sesd.conf (ini) and the credentials file. One static table in
 * config.c describes every key: section, name, type, default, reload
 * policy, field offset. Unknown keys and bad values are errors with
 * file:line. SIGHUP builds a fresh struct config; the old one stays in use
 * if the new one fails.
 */
#ifndef SESD_CONFIG_H
#define SESD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum identity_verify {
	VERIFY_TRUST, /* a new domain is verified at once (development) */
	VERIFY_DNS,   /* the DNS records are looked up */
};

enum template_review {
	REVIEW_AUTO,   /* new and updated templates are approved at once */
	REVIEW_MANUAL, /* status 1 until an operator approves (README) */
};

enum smtp_starttls {
	STARTTLS_NONE,          /* never: plain SMTP to the relay */
	STARTTLS_OPPORTUNISTIC, /* when the relay offers it */
	STARTTLS_REQUIRED,      /* no session without TLS */
};

/* Bounds of the [content] unsubscribe_key_file contents (unsub.h allows
 * 16..256; a configured key must have at least 256 bits). */
#define CONFIG_UNSUB_KEY_MIN 32
#define CONFIG_UNSUB_KEY_MAX 256

/* One line of the credentials file: "SecretId SecretKey AppId". */
struct cred {
	char *secret_id;
	char *secret_key;
	uint64_t app_id;
};

struct config {
	char *path; /* the file this was read from */

	/* [sesd] */
	char *credentials_file;
	char *time_zone;
	int shutdown_timeout; /* seconds */
	char *log_level;      /* debug|info|warning|error */

	/* [database] */
	char *db_conninfo;
	int db_pool_size;
	int db_reconnect_interval; /* seconds between reconnect attempts */

	/* [api] */
	char *api_listen;    /* host:port */
	int api_rate_limit;  /* per SecretId and action per second; 0 = off */
	size_t api_max_body; /* bytes */
	int api_timeout;     /* seconds a client may take to send / read */
	char *api_regions;   /* comma-separated list of accepted X-TC-Region */

	/* [identity] */
	enum identity_verify identity_verify;
	char *identity_dkim_selector;
	char *identity_spf_record;
	char *identity_dmarc_record;
	char *identity_dns_server; /* "" = system resolver, else host[:port] */

	/* [templates] */
	enum template_review templates_review;
	size_t templates_max_size; /* bytes of decoded Html + Text */

	/* [limits] */
	int limits_domains;            /* identities per account */
	int limits_senders;            /* sender addresses per account */
	int limits_templates;          /* templates per account */
	int limits_receivers;          /* recipient lists per account */
	int limits_receivers_per_list; /* addresses per list */

	/* [smtp] */
	char *smtp_relay_host; /* host name or IP address */
	int smtp_relay_port;
	enum smtp_starttls smtp_starttls;
	char *smtp_auth_user;     /* "" = no AUTH */
	char *smtp_auth_password; /* never logged */
	char *smtp_helo_name;     /* "" = the machine's host name */
	int smtp_connect_timeout; /* seconds */
	int smtp_command_timeout; /* seconds */
	int smtp_workers;
	int smtp_messages_per_session;
	int smtp_max_retry_age;    /* seconds; then a deferred mail fails */
	int smtp_retry_base;       /* seconds; the first backoff */
	char *smtp_bounce_address; /* MAIL FROM; "" = the sender address */
	int smtp_lease;            /* seconds a claimed delivery is held */

	/* [content] */
	char *content_ad_marker;  /* 1..32 bytes, no control characters */
	char *content_public_url; /* http(s)://host[:port][/path] */
	char *content_unsubscribe_key_file; /* resolved path; "" = none */
	char *content_unsubscribe_mailto;   /* "" or an address */

	/* [web] */
	char *web_listen; /* host:port of the public pages (unsubscribe) */

	/* [dkim] */
	bool dkim_sign;

	/* [scheduler] */
	int scheduler_hour_seconds; /* one IntervalTime hour; a test knob */

	/* from credentials_file */
	struct cred *creds;
	size_t ncreds;

	/*
	 * The bytes of content_unsubscribe_key_file, as they are
	 * (CONFIG_UNSUB_KEY_MIN..MAX), or NULL and 0 when no file is
	 * configured: then no unsubscribe link can be made or checked.
	 */
	unsigned char *unsub_key;
	size_t unsub_key_len;
};

/*
 * Reads path and then the credentials file and the unsubscribe key file
 * it names. Returns a config the caller frees with config_free(), or NULL
 * with a message "file:line: why" in err. The credentials and key files
 * are refused if group or others may read them.
 */
struct config *config_load(const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);

/* The credential with this SecretId, or NULL. Borrowed from cfg. */
const struct cred *config_find_cred(
    const struct config *cfg, const char *secret_id);

/* True if region is one of api_regions. */
bool config_region_ok(const struct config *cfg, const char *region);

/*
 * Logs (warning) every restart-only key whose value differs between old
 * and new, and copies old's value into new so it keeps running unchanged.
 */
void config_keep_restart_keys(const struct config *old, struct config *new);

/* Writes every key "section.key = default" to f, one per line (tests). */
struct config_key_info {
	const char *section;
	const char *name;
	const char *def;
};
/* The key table, terminated by a NULL name. */
const struct config_key_info *config_keys(void);

#endif
