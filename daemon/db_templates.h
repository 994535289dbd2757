/*
 * db_templates.h: the SQL of the templates table (sql/0001_init.sql).
 * Parameters and result columns are listed with each statement.
 */
#ifndef SESD_DB_TEMPLATES_H
#define SESD_DB_TEMPLATES_H

#include "db.h"

/* $1 app, $2 name, $3 html|NULL, $4 text|NULL, $5 variables text[],
 * $6 status, $7 review reason, $8 max templates per account
 * -> id (no row: the account is at its limit) */
extern struct db_stmt db_templates_insert;
/* $1 app, $2 id -> name, html, text_body, status (read-only) */
extern struct db_stmt db_templates_get;
/* $1 app, $2 limit, $3 offset
 * -> version (template_versions), total, id, name, status, review_reason,
 *    created (unix); one row with NULL id when the page is empty
 *    (read-only) */
extern struct db_stmt db_templates_list;
/* $1 bigint[] of apps -> app_id, version (template_versions; no row:
 * version 0) (read-only) */
extern struct db_stmt db_templates_versions;
/* $1 app, $2 id, $3 name, $4 html, $5 text, $6 variables, $7 status,
 * $8 reason -> id (no row: no such template) */
extern struct db_stmt db_templates_update;
/* $1 app, $2 id -> id (no row: no such template) */
extern struct db_stmt db_templates_delete;

#endif
