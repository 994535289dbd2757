/*
 * db_receivers.h: the SQL of the receivers and receiver_details tables
 * (sql/0001_init.sql). Parameters and result columns are listed with each
 * statement; every statement takes the account as $1.
 *
 * An upload is three statements (act_receiver.c drives them): mark takes
 * the list (status 2), fill inserts the whole set from two text[] arrays
 * and completes the list (status 3) in one statement, and unmark is the
 * best-effort undo when fill fails. A list left at status 2 for more than
 * RECEIVER_STALE_UPLOAD (a node died between mark and fill) may be taken
 * again by mark.
 */
#ifndef SESD_DB_RECEIVERS_H
#define SESD_DB_RECEIVERS_H

#include "db.h"

#define RECEIVER_STALE_UPLOAD "10 minutes"

/* $1 app, $2 name, $3 description, $4 max lists per account
 * -> id (no row: the account is at its limit); SQLSTATE 23505 when the
 *    account already has a list of that name */
extern struct db_stmt db_receivers_insert;

/* $1 app, $2 limit, $3 offset, $4 status|NULL, $5 ILIKE pattern|NULL
 * -> total, id, name, count, description, status, created (text); one row
 *    with NULL id when the page is empty. Newest list first. */
extern struct db_stmt db_receivers_list;

/* $1 app, $2 id -> id (no row: no such list). Addresses go by cascade. */
extern struct db_stmt db_receivers_delete;

/*
 * $1 app, $2 id, $3 key set text[] of the upload (NULL: addresses without
 * data) -> busy, fits, marked, count; no row: no such list. marked: the
 * list is now at status 2 and belongs to this upload, and count is its
 * number of addresses (from the row version taken, not the snapshot).
 * Otherwise busy means another upload holds the list, fits false that the
 * upload's kind or key set does not match the list (a list without data
 * takes none, a list with data only the same key set); neither: a
 * concurrent upload won the row.
 */
extern struct db_stmt db_receivers_mark;

/*
 * $1 app, $2 id, $3 emails text[] (distinct case-insensitively), $4 data
 * text[]|NULL (parallel to $3), $5 number of emails, $6 max addresses per
 * list, $7 key set text[]|NULL
 * -> inserted, room, updated. room false: the addresses that are not yet
 * in the list would take it over $6, nothing was inserted and the list is
 * back at status 1 or 3. updated 0: the list is gone.
 */
extern struct db_stmt db_receivers_fill;
/* The same for a list that had no address at mark time: a plain INSERT
 * (the emails are distinct and nobody else writes to a marked list; a
 * unique violation, SQLSTATE 23505, means a stale upload woke up). */
extern struct db_stmt db_receivers_fill_new;

/* $1 app, $2 id -> (nothing): a list at status 2 goes back to 3 if it has
 * addresses, else 1. */
extern struct db_stmt db_receivers_unmark;

/*
 * $1 app, $2 id, $3 limit, $4 offset, $5 email ILIKE pattern|NULL,
 * $6 created_at lower bound|NULL, $7 exclusive upper bound|NULL (both
 * "YYYY-MM-DD HH:MM:SS" in the session's zone), $8 status filter|NULL
 * -> count (the list's addresses), total (matching), id, email,
 *    template_data, created (text); one row with NULL id when the page is
 *    empty; no row: no such list.
 */
extern struct db_stmt db_receivers_details;

#endif
