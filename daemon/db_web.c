/*
 * db_web.c: every statement of the public pages. Only the unsubscribe
 * POST writes, one suppression row per (account, sender domain,
 * recipient).
 */
#include "db_web.h"

/* The unique index suppressions_key, named for ON CONFLICT inference. */
#define SUPPRESSION_KEY                                                        \
	"(app_id, reason, (coalesce(domain, '')), (lower(email)))"

struct db_stmt db_web_unsubscribe = {"web_unsubscribe",
    "INSERT INTO suppressions (app_id, reason, domain, email, detail) "
    "VALUES ($1::bigint, 'unsubscribe', lower($2::text), $3::text, "
    "  $4::text) "
    "ON CONFLICT " SUPPRESSION_KEY " DO NOTHING",
    4, 0};
