/*
 * taskctl.h: `sesd [-c FILE] task pause|resume|stop TASK_ID`, the
 * operator's control of a send task (README "Pausing, resuming and
 * stopping a task"). A short-lived command, not the daemon: it connects to
 * [database] conninfo with blocking libpq, calls the SQL function
 * sesd_task_pause/resume/stop (sql/0005_scheduler.sql) that does the work
 * in one transaction, and prints what it did. Every sesd node sees the
 * change at once, since the database is the only shared state.
 */
#ifndef SESD_TASKCTL_H
#define SESD_TASKCTL_H

#include "config.h"

/* argv[0] is the verb; returns the process exit status (0 done, 1 the
 * database refused or failed, 2 usage). */
int taskctl_run(const struct config *cfg, int argc, char **argv);

#endif
