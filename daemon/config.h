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

	/* from credentials_file */
	struct cred *creds;
	size_t ncreds;
};

/*
 * Reads path and then the credentials file it names. Returns a config the
 * caller frees with config_free(), or NULL with a message "file:line: why"
 * in err. The credentials file is refused if group or others may read it.
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
