/*
 * db_addresses.c: every statement on the email_addresses table. Each one
 * filters on app_id, so no account reaches another's sender addresses or
 * registers an address on another account's domain.
 */
#include "db_addresses.h"

struct db_stmt db_addresses_insert = {"addresses_insert",
    "WITH ident AS (SELECT id FROM email_identities "
    "  WHERE app_id = $1 AND lower(domain) = lower($3) AND verified), "
    "dup AS (SELECT 1 FROM email_addresses "
    "  WHERE app_id = $1 AND lower(address) = lower($2)), "
    "ins AS (INSERT INTO email_addresses (app_id, identity_id, address, "
    "  sender_name) "
    "  SELECT $1, ident.id, $2, $4 FROM ident "
    "  WHERE NOT EXISTS (SELECT 1 FROM dup) "
    "  AND sesd_count_locked('email_addresses', $1) < $5 "
    "  RETURNING id) "
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN 'ok' "
    "WHEN EXISTS (SELECT 1 FROM dup) THEN 'repeat' "
    "WHEN NOT EXISTS (SELECT 1 FROM ident) THEN 'unverified' "
    "ELSE 'limit' END",
    5, 0};

struct db_stmt db_addresses_list = {"addresses_list",
    "SELECT address, sender_name, "
    "extract(epoch FROM created_at)::bigint "
    "FROM email_addresses WHERE app_id = $1 ORDER BY id",
    1, 0};

struct db_stmt db_addresses_delete = {"addresses_delete",
    "DELETE FROM email_addresses "
    "WHERE app_id = $1 AND lower(address) = lower($2) RETURNING id",
    2, 0};
