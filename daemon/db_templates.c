/*
 * db_templates.c: every statement on the templates table. Each one
 * filters on app_id, so no account reaches another's templates.
 */
#include "db_templates.h"

struct db_stmt db_templates_insert = {"templates_insert",
    "INSERT INTO templates (app_id, name, html, text_body, variables, "
    "status, review_reason) "
    "SELECT $1, $2, $3, $4, $5::text[], $6, $7 "
    "WHERE sesd_count_locked('templates', $1) < $8 "
    "RETURNING id",
    8, 0};

struct db_stmt db_templates_get = {"templates_get",
    "SELECT name, html, text_body, status FROM templates "
    "WHERE app_id = $1 AND id = $2",
    2, 0};

/*
 * version: the account's template_versions row (0 when it has none yet),
 * read in the same snapshot as the page, so that a reply kept under it is
 * exactly the page at that version.
 * created: Unix seconds rounded half up, exactly what
 * extract(epoch)::bigint gives for any time after 1970, without numeric
 * arithmetic: extract returns numeric since PostgreSQL 14, about a tenth
 * of this statement's executor time for a page of 10. date_part's float8
 * holds these microseconds exactly enough for the rounding.
 */
struct db_stmt db_templates_list = {"templates_list",
    "SELECT c.version, c.total, t.id, t.name, t.status, t.review_reason, "
    "t.created "
    "FROM (SELECT coalesce((SELECT version FROM template_versions "
    "  WHERE app_id = $1), 0) AS version, "
    "  (SELECT count(*) FROM templates WHERE app_id = $1) AS total) c "
    "LEFT JOIN LATERAL (SELECT id, name, status, review_reason, "
    "  floor(date_part('epoch', created_at) + 0.5)::bigint AS created "
    "  FROM templates WHERE app_id = $1 "
    "  ORDER BY id DESC LIMIT $2 OFFSET $3) t ON true",
    3, 0};

/* Accounts absent from template_versions are at version 0. */
struct db_stmt db_templates_versions = {"templates_versions",
    "SELECT app_id, version FROM template_versions "
    "WHERE app_id = ANY ($1::bigint[])",
    1, 0};

struct db_stmt db_templates_update = {"templates_update",
    "UPDATE templates SET name = $3, html = $4, text_body = $5, "
    "variables = $6::text[], status = $7, review_reason = $8, "
    "updated_at = now() "
    "WHERE app_id = $1 AND id = $2 RETURNING id",
    8, 0};

struct db_stmt db_templates_delete = {"templates_delete",
    "DELETE FROM templates WHERE app_id = $1 AND id = $2 RETURNING id", 2, 0};
