/*
 * db_identities.h: the SQL of the email_identities table
 * (sql/0001_init.sql). Domains are stored lower-case; every statement
 * filters on app_id, except that creation must see whether another
 * account holds the domain (it learns only that, never the row).
 * Parameters and result columns are listed with each statement.
 */
#ifndef SESD_DB_IDENTITIES_H
#define SESD_DB_IDENTITIES_H

#include "db.h"

/* Cheap pre-check before the key generation:
 * $1 app, $2 domain, $3 max domains per account
 * -> outcome: 'ok', 'repeat' (this account has it), 'other' (another
 *    account has it), 'limit' (the account is full) */
extern struct db_stmt db_identities_check;
/* $1 app, $2 domain, $3 dkim_option, $4 selector, $5 private key PEM,
 * $6 public key base64, $7 verified (t/f), $8 tags (jsonb text),
 * $9 max domains per account
 * -> outcome as db_identities_check ('ok' = inserted) */
extern struct db_stmt db_identities_insert;
/* $1 app, $2 domain
 * -> domain, dkim_option, dkim_selector, dkim_public_key, verified,
 *    tags (json text); no row: no such domain */
extern struct db_stmt db_identities_get;
/* $1 app, $2 tag filter (jsonb array, '[]' = all), $3 limit (NULL = all),
 * $4 offset
 * -> total, domain, verified, dkim_option, tags; one row with NULL domain
 *    when the page is empty */
extern struct db_stmt db_identities_list;
/* A new DKIM key (UpdateEmailIdentity with another DKIMOption):
 * $1 app, $2 domain, $3 dkim_option, $4 selector, $5 private key PEM,
 * $6 public key base64, $7 verified (t/f)
 * -> the columns of db_identities_get; no row: no such domain */
extern struct db_stmt db_identities_rekey;
/* Marks the domain verified if its key is still the one that was checked:
 * $1 app, $2 domain, $3 public key base64 -> verified; no row: the domain
 * or its key changed meanwhile */
extern struct db_stmt db_identities_set_verified;
/* $1 app, $2 domain
 * -> outcome: 'ok' (deleted), 'none' (no such domain), 'busy' (sender
 *    addresses of the domain exist) */
extern struct db_stmt db_identities_delete;

#endif
