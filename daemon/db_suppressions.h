/*
 * db_suppressions.h: the SQL of the suppressions table (sql/0001_init.sql)
 * as the custom blacklist actions use it: rows with reason = 'custom' and
 * domain NULL (every sender domain). Parameters and result columns are
 * listed with each statement; every one filters on app_id ($1).
 * An entry is active while expire_date is NULL or not before current_date
 * (the DB session's TimeZone is the configured zone).
 */
#ifndef SESD_DB_SUPPRESSIONS_H
#define SESD_DB_SUPPRESSIONS_H

#include "db.h"

/* $1 app, $2 addresses text[] (already checked), $3 expire date|NULL
 * -> date_ok (false: $3 is before today, nothing stored), stored (rows
 *    inserted; addresses already on the list or repeated in $2 are skipped,
 *    case-insensitively) */
extern struct db_stmt db_suppressions_custom_add;
/* $1 app, $2 status (0 expired, 1 active, 2 all), $3 substring|NULL,
 * $4 limit, $5 offset
 * -> total, id, email, created ("YYYY-MM-DD HH:MM:SS"), expire
 *    ("YYYY-MM-DD" or ""), status (0/1); one row with NULL id when the page
 *    is empty. Newest first. */
extern struct db_stmt db_suppressions_custom_list;
/* $1 app, $2 id, $3 email, $4 expire date|NULL
 * -> date_ok, updated (0: no such entry). A unique violation (23505) means
 *    another entry of the account has that address. */
extern struct db_stmt db_suppressions_custom_update;
/* $1 app, $2 addresses text[], already lower-case -> deleted (count) */
extern struct db_stmt db_suppressions_custom_del;

#endif
