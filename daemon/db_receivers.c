/*
 * db_receivers.c: every statement on the receivers and receiver_details
 * tables. Each one filters on app_id, so no account reaches another's
 * lists. Addresses travel as text[] parameters and are inserted set-wise
 * (unnest), never one round trip per address (DESIGN.md section 4).
 */
#include "db_receivers.h"

struct db_stmt db_receivers_insert = {"receivers_insert",
    "INSERT INTO receivers (app_id, name, description) "
    "SELECT $1, $2, $3 "
    "WHERE sesd_count_locked('receivers', $1) < $4 "
    "RETURNING id",
    4, 0};

#define LIST_FILTER                                                            \
	"WHERE app_id = $1 AND ($4::smallint IS NULL OR status = $4) "         \
	"AND ($5::text IS NULL OR name ILIKE $5) "

struct db_stmt db_receivers_list = {"receivers_list",
    "SELECT c.total, r.id, r.name, r.count, r.description, r.status, "
    "r.created "
    "FROM (SELECT count(*) AS total FROM receivers " LIST_FILTER ") c "
    "LEFT JOIN LATERAL (SELECT id, name, count, description, status, "
    "  to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') AS created "
    "  FROM receivers " LIST_FILTER
    "  ORDER BY id DESC LIMIT $2 OFFSET $3) r ON true",
    5, 0};

struct db_stmt db_receivers_delete = {"receivers_delete",
    "DELETE FROM receivers WHERE app_id = $1 AND id = $2 RETURNING id", 2, 0};

/* Whether an upload of key set $3 (NULL: no data) suits the list. */
#define KEYS_FIT                                                               \
	"coalesce(CASE WHEN $3::text[] IS NULL THEN data_keys IS NULL "        \
	"ELSE (data_keys IS NULL AND count = 0) OR data_keys = $3::text[] "    \
	"END, false)"

/* Whether no live upload holds the list. */
#define FREE                                                                   \
	"(status <> 2 OR coalesce(upload_started, '-infinity') < "             \
	"now() - interval '" RECEIVER_STALE_UPLOAD "')"

/*
 * cur reads the list as the statement's snapshot saw it, upd takes it; a
 * concurrent mark that won the row lock makes upd re-check the new row and
 * skip it, so two uploads never hold one list. upd's RETURNING gives the
 * count of the row version it locked, which a concurrent fill may have
 * changed after the snapshot.
 */
struct db_stmt db_receivers_mark = {"receivers_mark",
    "WITH cur AS (SELECT NOT (" FREE ") AS busy, " KEYS_FIT " AS fits "
    "  FROM receivers WHERE app_id = $1 AND id = $2), "
    "upd AS (UPDATE receivers SET status = 2, upload_started = now() "
    "  WHERE app_id = $1 AND id = $2 AND " FREE " AND " KEYS_FIT
    "  RETURNING count) "
    "SELECT cur.busy, cur.fits, EXISTS (SELECT 1 FROM upd), "
    "(SELECT count FROM upd) FROM cur",
    3, 0};

/*
 * One statement, so the rows, the count, the key set and status 3 commit
 * together. The limit counts the addresses that would really be inserted:
 * the cheap bound (all of them new) is tried first, and only when it fails
 * does the anti-join against the list run (an uncorrelated sub-select is
 * evaluated on first use, and OR stops at the first true). The rows are
 * read straight from unnest (no CTE to materialise) and inserted in array
 * order, so EmailId follows the order of the request.
 */
#define FILL_SQL(on_conflict)                                                  \
	"WITH cur AS (SELECT count FROM receivers "                            \
	"  WHERE app_id = $1 AND id = $2), "                                   \
	"room AS (SELECT coalesce((SELECT count FROM cur) + $5::int <= "       \
	"$6::int "                                                             \
	"  OR (SELECT count FROM cur) + (SELECT count(*) "                     \
	"    FROM unnest($3::text[]) AS r(email) "                             \
	"    WHERE NOT EXISTS (SELECT 1 FROM receiver_details d "              \
	"      WHERE d.receiver_id = $2 AND lower(d.email) = "                 \
	"lower(r.email))) "                                                    \
	"  <= $6::int, false) AS ok), "                                        \
	"ins AS (INSERT INTO receiver_details (receiver_id, email, "           \
	"  template_data) "                                                    \
	"  SELECT $2, u.email, u.data "                                        \
	"  FROM unnest($3::text[], $4::text[]) WITH ORDINALITY "               \
	"  AS u(email, data, ord) "                                            \
	"  WHERE (SELECT ok FROM room) ORDER BY u.ord " on_conflict            \
	"  RETURNING 1), "                                                     \
	"n AS (SELECT count(*)::int AS n FROM ins), "                          \
	"upd AS (UPDATE receivers SET count = count + n.n, "                   \
	"  status = CASE WHEN count + n.n > 0 THEN 3 ELSE 1 END, "             \
	"  data_keys = CASE WHEN count + n.n > 0 THEN $7::text[] "             \
	"    ELSE data_keys END, "                                             \
	"  upload_started = NULL "                                             \
	"  FROM n WHERE app_id = $1 AND id = $2 RETURNING 1) "                 \
	"SELECT n.n, (SELECT ok FROM room), (SELECT count(*) FROM upd) FROM n"

struct db_stmt db_receivers_fill = {"receivers_fill",
    FILL_SQL("ON CONFLICT (receiver_id, lower(email)) DO NOTHING"), 7, 0};

/* ON CONFLICT costs about a third more than a plain insert (speculative
 * insertion), and an empty list held by this upload cannot conflict with
 * addresses already distinct. */
struct db_stmt db_receivers_fill_new = {
    "receivers_fill_new", FILL_SQL(""), 7, 0};

struct db_stmt db_receivers_unmark = {"receivers_unmark",
    "UPDATE receivers SET upload_started = NULL, "
    "status = CASE WHEN EXISTS (SELECT 1 FROM receiver_details "
    "  WHERE receiver_id = $2) THEN 3 ELSE 1 END "
    "WHERE app_id = $1 AND id = $2 AND status = 2",
    2, 0};

#define DETAIL_FILTER                                                          \
	"WHERE x.receiver_id = r.id "                                          \
	"AND ($5::text IS NULL OR x.email ILIKE $5) "                          \
	"AND ($6::timestamptz IS NULL OR x.created_at >= $6::timestamptz) "    \
	"AND ($7::timestamptz IS NULL OR x.created_at < $7::timestamptz) "     \
	"AND ($8::int IS NULL OR $8::int = 1) "

struct db_stmt db_receivers_details = {"receivers_details",
    "SELECT r.count, c.total, d.id, d.email, d.template_data, d.created "
    "FROM receivers r "
    "CROSS JOIN LATERAL (SELECT count(*) AS total "
    "  FROM receiver_details x " DETAIL_FILTER ") c "
    "LEFT JOIN LATERAL (SELECT x.id, x.email, x.template_data, "
    "  to_char(x.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created "
    "  FROM receiver_details x " DETAIL_FILTER
    "  ORDER BY x.id LIMIT $3 OFFSET $4) d ON true "
    "WHERE r.app_id = $1 AND r.id = $2",
    8, 0};
