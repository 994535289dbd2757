/*
 * db_suppressions.c: every statement on the suppressions table used by the
 * custom blacklist actions. Each one filters on app_id, so no account
 * reaches another's entries.
 */
#include "db_suppressions.h"

/* The unique index suppressions_key, named for ON CONFLICT inference. */
#define CUSTOM_KEY "(app_id, reason, (coalesce(domain, '')), (lower(email)))"
/* Which entries a List shows: $2 status, $3 substring of the address. */
#define CUSTOM_FILTER                                                          \
	"app_id = $1 AND reason = 'custom' AND domain IS NULL "                \
	"AND ($2::int = 2 OR ($2::int = 1) = "                                 \
	"  (expire_date IS NULL OR expire_date >= current_date)) "             \
	"AND ($3::text IS NULL "                                               \
	"  OR strpos(lower(email), lower($3::text)) > 0) "

struct db_stmt db_suppressions_custom_add = {"suppressions_custom_add",
    "WITH d AS (SELECT $3::date AS exp, "
    "  ($3::date IS NULL OR $3::date >= current_date) AS ok), "
    "ins AS (INSERT INTO suppressions (app_id, reason, domain, email, "
    "  expire_date) "
    "  SELECT $1::bigint, 'custom', NULL, u.e, d.exp "
    "  FROM unnest($2::text[]) WITH ORDINALITY AS u(e, n), d "
    "  WHERE d.ok ORDER BY u.n "
    "  ON CONFLICT " CUSTOM_KEY " DO NOTHING RETURNING 1) "
    "SELECT (SELECT ok FROM d), (SELECT count(*) FROM ins)",
    3, 0};

struct db_stmt db_suppressions_custom_list = {"suppressions_custom_list",
    "SELECT c.total, t.id, t.email, t.created, t.expire, t.status "
    "FROM (SELECT count(*) AS total FROM suppressions "
    "  WHERE " CUSTOM_FILTER ") c "
    "LEFT JOIN LATERAL (SELECT id, email, "
    "  to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') AS created, "
    "  coalesce(to_char(expire_date, 'YYYY-MM-DD'), '') AS expire, "
    "  CASE WHEN expire_date < current_date THEN 0 ELSE 1 END AS status "
    "  FROM suppressions WHERE " CUSTOM_FILTER
    "  ORDER BY id DESC LIMIT $4 OFFSET $5) t ON true",
    5, 0};

struct db_stmt db_suppressions_custom_update = {"suppressions_custom_update",
    "WITH d AS (SELECT $4::date AS exp, "
    "  ($4::date IS NULL OR $4::date >= current_date) AS ok), "
    "upd AS (UPDATE suppressions s SET email = $3, expire_date = d.exp "
    "  FROM d WHERE d.ok AND s.app_id = $1 AND s.reason = 'custom' "
    "  AND s.domain IS NULL AND s.id = $2 RETURNING s.id) "
    "SELECT (SELECT ok FROM d), (SELECT count(*) FROM upd)",
    4, 0};

struct db_stmt db_suppressions_custom_del = {"suppressions_custom_del",
    /* one probe of the unique index per address: the LATERAL subquery
     * depends on u.e and its LIMIT (harmless: the index is unique) keeps
     * the planner from flattening it into a join, which on a table not
     * yet analyzed became a scan of the account's entries per address and
     * made 20,000 deletes take minutes */
    "WITH del AS (DELETE FROM suppressions WHERE id IN ("
    "  SELECT t.id FROM unnest($2::text[]) AS u(e) CROSS JOIN LATERAL "
    "  (SELECT id FROM suppressions WHERE app_id = $1 "
    "   AND reason = 'custom' AND coalesce(domain, '') = '' "
    "   AND lower(email) = u.e LIMIT 1) t) "
    "  RETURNING 1) "
    "SELECT count(*) FROM del",
    2, 0};
