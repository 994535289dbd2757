/*
 * main.c: command line, start-up order, signals and shutdown.
 *   sesd [-c FILE]            run in the foreground (systemd, make run)
 *   sesd -n [-c FILE]         check the configuration and exit
 *   sesd --migrate [-c FILE]  apply pending sql/ migrations and exit
 *   sesd [-c FILE] task pause|resume|stop ID   an operator's task control
 *                             (taskctl.c)
 * Start: config, schema version check, database pool, the SMTP workers and
 * the dispatcher (dispatch.c: the workers are forked here, before any thread
 * exists), the scheduler of timed and cyclic tasks (timed.c), API
 * listener, public pages listener ([web] listen, web.c).
 * SIGHUP reloads config and credentials; SIGTERM/SIGINT stop accepting and
 * claiming, let requests in flight and the workers' current batches finish
 * and their results be written (at most [sesd] shutdown_timeout), exit.
 * SIGCHLD belongs to pool.c (reaping and respawning workers).
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "db_deliveries.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "dispatch.h"
#include "taskctl.h"
#include "timed.h"
#include "util.h"
#include "web.h"

#define DEFAULT_CONFIG "/etc/sesd/sesd.conf"

struct sesd {
	struct event_base *base;
	const char *config_path;
	struct db *db;
	struct api *api;
	struct http *http;
	struct web *web;
	struct sched *sched;
	struct timed *timed;
	bool analyzing;
	uint64_t analyzed_ms;
	struct event *ev_term, *ev_int, *ev_hup, *ev_drain;
	uint64_t stop_deadline_ms;
	bool stopping;
};

static void usage(void) SESD_NORETURN;
static struct config *load_config(const char *, bool);
static void signal_term_cb(evutil_socket_t, short, void *);
static void signal_hup_cb(evutil_socket_t, short, void *);
static void drain_cb(evutil_socket_t, short, void *);
static void api_http_cb(struct http_req *, void *);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sesd [-c FILE]             run (default " DEFAULT_CONFIG
	    ")\n"
	    "       sesd -n [-c FILE]          check the configuration\n"
	    "       sesd --migrate [-c FILE]   apply database migrations\n"
	    "       sesd [-c FILE] task pause|resume|stop TASK_ID\n"
	    "                                  control a send task\n"
	    "       sesd -V                    print the version\n");
	exit(2);
}

static struct config *
load_config(const char *path, bool fatal_on_error)
{
	char err[512];
	struct config *cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL) {
		if (fatal_on_error)
			fatalx("%s", err);
		log_error("config: %s; keeping the running configuration", err);
		return NULL;
	}
	return cfg;
}

static void
apply_log_level(const struct config *cfg)
{
	int lvl = log_level_from_text(cfg->log_level);
	log_set_level(lvl < 0 ? LOG_LVL_INFO : (enum log_level)lvl);
}

static void
api_http_cb(struct http_req *r, void *arg)
{
	api_handle(arg, r);
}

static void
analyze_done(const struct db_res *res, void *arg)
{
	struct sesd *sd = arg;

	sd->analyzing = false;
	if (res->status == DB_FAIL)
		log_warn("analyze deliveries: %s", res->errmsg);
	else
		log_debug("deliveries analyzed in %" PRIu64 " ms",
		    now_ms() - sd->analyzed_ms);
	sched_hold(sd->sched, false);
	sched_kick(sd->sched);
}

/*
 * A run was released: claim it now; after a big one, first renew the
 * planner's statistics of deliveries (db_deliveries.h DLV_ANALYZE_ROWS), at
 * most one at a time and every 5 s. The dispatcher holds its claims until
 * then: with the statistics of the table before the release, a claim's
 * plan read and sorted the whole run (225 ms for a 500-row claim in a run
 * of 50,000, each claim until the ANALYZE was over, against ~20 ms).
 */
static void
released(struct sesd *sd, int64_t rows)
{
	if (rows < DLV_ANALYZE_ROWS || sd->analyzing ||
	    (sd->analyzed_ms != 0 && now_ms() - sd->analyzed_ms < 5000)) {
		sched_kick(sd->sched);
		return;
	}
	sched_hold(sd->sched, true);
	sd->analyzing = true;
	sd->analyzed_ms = now_ms();
	db_query(sd->db, &db_dlv_analyze, NULL, analyze_done, sd);
}

static void
release_cb(void *arg, int64_t rows)
{
	released(arg, rows);
}

/* A send action wrote a task: claim its run now, or hold it for later. */
static void
task_cb(void *arg, uint64_t task, int64_t first_run_ms, int64_t rows)
{
	struct sesd *sd = arg;

	if (first_run_ms < 0)
		released(sd, rows);
	else
		timed_add(sd->timed, task, first_run_ms);
}

static void
signal_term_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sesd *sd = arg;
	struct timeval tv = {0, 100 * 1000};

	(void)what;
	if (sd->stopping) {
		log_warn("signal %d again: exiting now", (int)sig);
		event_base_loopbreak(sd->base);
		return;
	}
	sd->stopping = true;
	log_info("signal %d: no new requests; waiting for %zu in flight and "
		 "%zu deliveries",
	    (int)sig, api_inflight(sd->api) + web_inflight(sd->web),
	    sched_busy(sd->sched));
	http_stop_accepting(sd->http);
	web_stop_accepting(sd->web);
	timed_stop(sd->timed);
	sched_stop(sd->sched);
	sd->stop_deadline_ms =
	    now_ms() + (uint64_t)api_config(sd->api)->shutdown_timeout * 1000;
	sd->ev_drain = event_new(sd->base, -1, EV_PERSIST, drain_cb, sd);
	event_add(sd->ev_drain, &tv);
	drain_cb(-1, 0, sd);
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sesd *sd = arg;

	(void)fd;
	(void)what;
	if (api_inflight(sd->api) + web_inflight(sd->web) == 0 &&
	    sched_busy(sd->sched) == 0 && timed_busy(sd->timed) == 0) {
		event_base_loopbreak(sd->base);
	} else if (now_ms() >= sd->stop_deadline_ms) {
		log_warn("shutdown_timeout reached with %zu requests and %zu "
			 "deliveries in flight",
		    api_inflight(sd->api) + web_inflight(sd->web),
		    sched_busy(sd->sched));
		event_base_loopbreak(sd->base);
	}
}

static void
signal_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sesd *sd = arg;
	struct config *cfg;

	(void)sig;
	(void)what;
	if ((cfg = load_config(sd->config_path, false)) == NULL)
		return;
	config_keep_restart_keys(api_config(sd->api), cfg);
	apply_log_level(cfg);
	http_set_limits(sd->http, cfg->api_max_body, cfg->api_timeout);
	web_set_config(sd->web, cfg);
	sched_set_config(sd->sched, cfg);
	timed_set_config(sd->timed, cfg);
	api_set_config(sd->api, cfg);
	log_info("configuration reloaded from %s (%zu credentials)",
	    sd->config_path, cfg->ncreds);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"migrate", no_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sesd sd = {0};
	struct config *cfg;
	bool check_only = false, migrate = false;
	char err[512];
	int ch;

	sd.config_path = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:nVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			sd.config_path = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'M':
			migrate = true;
			break;
		case 'V':
			printf("sesd %s\n", SESD_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc &&
	    (strcmp(argv[optind], "task") != 0 || check_only || migrate))
		usage();

	cfg = load_config(sd.config_path, true);
	if (optind != argc) {
		int rc = taskctl_run(cfg, argc - optind - 1, argv + optind + 1);
		config_free(cfg);
		return rc;
	}
	if (check_only) {
		printf("configuration OK\n");
		config_free(cfg);
		return 0;
	}
	apply_log_level(cfg);
	if (migrate) {
		if (db_schema(cfg->db_conninfo, true, err, sizeof(err)) < 0)
			fatalx("migrate: %s", err);
		log_info("database schema at version %d", migrations_version);
		config_free(cfg);
		return 0;
	}
	if (db_schema(cfg->db_conninfo, false, err, sizeof(err)) < 0)
		fatalx("%s", err);

	signal(SIGPIPE, SIG_IGN);
	if ((sd.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	sd.db = db_new(sd.base, cfg->db_conninfo, cfg->time_zone,
	    cfg->db_pool_size, cfg->db_reconnect_interval);
	db_start(sd.db);
	/* [smtp] workers = 0: an API-only node, no dispatcher */
	if (cfg->smtp_workers > 0) {
		sd.sched = sched_new(sd.base, sd.db, cfg);
		sched_start(sd.sched);
	}
	/* every node runs the scheduler; the database keeps runs single */
	sd.timed = timed_new(sd.base, sd.db, cfg);
	timed_set_release_hook(sd.timed, release_cb, &sd);
	sd.api = api_new(sd.base, sd.db);
	api_set_config(sd.api, cfg);
	api_set_task_hook(sd.api, task_cb, &sd);
	sd.http = http_new(sd.base, api_http_cb, sd.api);
	if (http_listen(sd.http, cfg->api_listen, cfg->api_max_body,
		cfg->api_timeout, err, sizeof(err)) < 0)
		fatal("%s", err);
	sd.web = web_new(sd.base, sd.db);
	web_set_config(sd.web, cfg);
	if (web_listen(sd.web, cfg->web_listen, err, sizeof(err)) < 0)
		fatal("%s", err);
	sd.ev_term = evsignal_new(sd.base, SIGTERM, signal_term_cb, &sd);
	sd.ev_int = evsignal_new(sd.base, SIGINT, signal_term_cb, &sd);
	sd.ev_hup = evsignal_new(sd.base, SIGHUP, signal_hup_cb, &sd);
	event_add(sd.ev_term, NULL);
	event_add(sd.ev_int, NULL);
	event_add(sd.ev_hup, NULL);
	timed_start(sd.timed);
	log_info("sesd %s ready: api on %s, web on %s, schema version %d",
	    SESD_VERSION, cfg->api_listen, cfg->web_listen, migrations_version);

	event_base_dispatch(sd.base);

	log_info("sesd stopping");
	/* the pool answers queries still pending, and their requests reply
	 * through the api and http objects, so those go last */
	db_free(sd.db);
	/* after db_free: its callbacks may still land in the dispatcher;
	 * closing the sockets makes idle workers exit */
	sched_free(sd.sched);
	timed_free(sd.timed);
	api_free(sd.api);
	http_free(sd.http);
	web_free(sd.web);
	event_free(sd.ev_term);
	event_free(sd.ev_int);
	event_free(sd.ev_hup);
	if (sd.ev_drain)
		event_free(sd.ev_drain);
	event_base_free(sd.base);
	log_info("sesd stopped");
	return 0;
}
