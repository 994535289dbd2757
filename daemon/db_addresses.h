/*
 * db_addresses.h: the SQL of the email_addresses table
 * (sql/0001_init.sql). Every statement filters on app_id.
 * Parameters and result columns are listed with each statement.
 */
#ifndef SESD_DB_ADDRESSES_H
#define SESD_DB_ADDRESSES_H

#include "db.h"

/* $1 app, $2 address, $3 its domain, $4 sender name ('' = none),
 * $5 max addresses per account
 * -> outcome: 'ok' (inserted), 'repeat' (the account has the address),
 *    'unverified' (the domain is not a verified identity of the account),
 *    'limit' (the account is full) */
extern struct db_stmt db_addresses_insert;
/* $1 app -> address, sender_name, created (unix seconds), oldest first */
extern struct db_stmt db_addresses_list;
/* $1 app, $2 address -> id; no row: no such address */
extern struct db_stmt db_addresses_delete;

#endif
