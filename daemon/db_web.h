/*
 * db_web.h: the SQL of the public pages (web.c). Parameters and result
 * columns are listed with each statement; every one filters on or writes
 * app_id ($1), taken from a verified unsubscribe token.
 */
#ifndef SESD_DB_WEB_H
#define SESD_DB_WEB_H

#include "db.h"

/*
 * $1 app, $2 sender domain, $3 recipient, $4 detail (free text for
 * operators, e.g. "task 42")
 * -> no rows; res->affected is 1 when the suppression is new, 0 when the
 *    recipient had already unsubscribed from that domain (idempotent: ON
 *    CONFLICT on suppressions_key does nothing). The domain is stored
 *    lower-case (domains compare case-insensitively; the unique index
 *    compares emails with lower()), reason 'unsubscribe', no expiry.
 */
extern struct db_stmt db_web_unsubscribe;

#endif
