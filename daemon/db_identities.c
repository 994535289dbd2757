/*
 * db_identities.c: every statement on the email_identities table. Each
 * one filters on app_id; only the domain-ownership test of creation looks
 * at other accounts' rows, and it reads nothing but their existence.
 */
#include "db_identities.h"

#define IDENT_COLS                                                             \
	"domain, dkim_option, dkim_selector, dkim_public_key, verified, "      \
	"tags::text"

struct db_stmt db_identities_check = {"identities_check",
    "SELECT CASE "
    "WHEN EXISTS (SELECT 1 FROM email_identities "
    "  WHERE lower(domain) = lower($2) AND app_id = $1) THEN 'repeat' "
    "WHEN EXISTS (SELECT 1 FROM email_identities "
    "  WHERE lower(domain) = lower($2)) THEN 'other' "
    "WHEN (SELECT count(*) FROM email_identities WHERE app_id = $1) >= $3 "
    "  THEN 'limit' "
    "ELSE 'ok' END",
    3, 0};

struct db_stmt db_identities_insert = {"identities_insert",
    "WITH owner AS (SELECT app_id FROM email_identities "
    "  WHERE lower(domain) = lower($2)), "
    "ins AS (INSERT INTO email_identities (app_id, domain, dkim_option, "
    "  dkim_selector, dkim_private_key, dkim_public_key, verified, tags) "
    "  SELECT $1, $2, $3, $4, $5, $6, $7, $8::jsonb "
    "  WHERE NOT EXISTS (SELECT 1 FROM owner) "
    "  AND sesd_count_locked('email_identities', $1) < $9 "
    "  RETURNING id) "
    "SELECT CASE "
    "WHEN EXISTS (SELECT 1 FROM ins) THEN 'ok' "
    "WHEN EXISTS (SELECT 1 FROM owner WHERE app_id = $1) THEN 'repeat' "
    "WHEN EXISTS (SELECT 1 FROM owner) THEN 'other' "
    "ELSE 'limit' END",
    9, 0};

struct db_stmt db_identities_get = {"identities_get",
    "SELECT " IDENT_COLS " FROM email_identities "
    "WHERE app_id = $1 AND lower(domain) = lower($2)",
    2, 0};

struct db_stmt db_identities_list = {"identities_list",
    "SELECT c.total, i.domain, i.verified, i.dkim_option, i.tags "
    "FROM (SELECT count(*) AS total FROM email_identities "
    "  WHERE app_id = $1 AND tags @> $2::jsonb) c "
    "LEFT JOIN LATERAL (SELECT domain, verified, dkim_option, "
    "  tags::text AS tags FROM email_identities "
    "  WHERE app_id = $1 AND tags @> $2::jsonb "
    "  ORDER BY id LIMIT $3::bigint OFFSET $4) i ON true",
    4, 0};

struct db_stmt db_identities_rekey = {"identities_rekey",
    "UPDATE email_identities SET dkim_option = $3, dkim_selector = $4, "
    "dkim_private_key = $5, dkim_public_key = $6, verified = $7, "
    "updated_at = now() "
    "WHERE app_id = $1 AND lower(domain) = lower($2) "
    "RETURNING " IDENT_COLS,
    7, 0};

struct db_stmt db_identities_set_verified = {"identities_set_verified",
    "UPDATE email_identities SET verified = true, updated_at = now() "
    "WHERE app_id = $1 AND lower(domain) = lower($2) "
    "AND dkim_public_key = $3 RETURNING verified",
    3, 0};

struct db_stmt db_identities_delete = {"identities_delete",
    "WITH ident AS (SELECT id FROM email_identities "
    "  WHERE app_id = $1 AND lower(domain) = lower($2)), "
    "busy AS (SELECT 1 FROM email_addresses a JOIN ident "
    "  ON a.identity_id = ident.id WHERE a.app_id = $1 LIMIT 1), "
    "del AS (DELETE FROM email_identities e USING ident "
    "  WHERE e.id = ident.id AND e.app_id = $1 "
    "  AND NOT EXISTS (SELECT 1 FROM busy) RETURNING e.id) "
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM del) THEN 'ok' "
    "WHEN NOT EXISTS (SELECT 1 FROM ident) THEN 'none' "
    "ELSE 'busy' END",
    2, 0};
