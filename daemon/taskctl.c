/*
 * taskctl.c: the operator's task command (taskctl.h).
 */
#include "taskctl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static const struct {
	const char *verb;
	const char *sql;
} verbs[] = {
    {"pause", "SELECT sesd_task_pause($1::bigint)"},
    {"resume", "SELECT sesd_task_resume($1::bigint)"},
    {"stop", "SELECT sesd_task_stop($1::bigint)"},
};

static int
usage(void)
{
	fprintf(
	    stderr, "usage: sesd [-c FILE] task pause|resume|stop TASK_ID\n");
	return 2;
}

int
taskctl_run(const struct config *cfg, int argc, char **argv)
{
	const char *sql = NULL, *params[1];
	char *end;
	unsigned long long id;
	PGconn *conn;
	PGresult *res;
	int rc = 0;

	if (argc != 2)
		return usage();
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[0], verbs[i].verb) == 0)
			sql = verbs[i].sql;
	errno = 0;
	id = strtoull(argv[1], &end, 10);
	if (sql == NULL || argv[1][0] < '0' || argv[1][0] > '9' ||
	    *end != '\0' || errno != 0 || id == 0 || id > INT64_MAX)
		return usage();
	conn = PQconnectdb(cfg->db_conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "sesd task: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}
	params[0] = argv[1];
	/* a deadlock with a results write is retried; nothing else is */
	for (int attempt = 0; attempt < 3; attempt++) {
		const char *state;
		bool deadlock;
		res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		deadlock = state != NULL && strcmp(state, "40P01") == 0;
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			printf("%s\n", PQgetvalue(res, 0, 0));
			rc = 0;
		} else {
			const char *msg =
			    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			fprintf(stderr, "sesd task %s %s: %s\n", argv[0],
			    argv[1], msg != NULL ? msg : PQerrorMessage(conn));
			rc = 1;
		}
		PQclear(res);
		if (!deadlock)
			break;
	}
	PQfinish(conn);
	return rc;
}
