/*
 * worker.c: the SMTP worker process (worker.h).
 */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "delivery.h"
#include "dkim.h"
#include "ipc.h"
#include "mime.h"
#include "relay.h"
#include "render.h"
#include "unsub.h"
#include "util.h"

/* One batch as read from the frame; strings borrowed from it. */
struct job {
	uint64_t seq, task, app;
	uint32_t run;
	const char *kind, *mail_from, *from_addr, *from_name, *reply_to;
	const char *subject, *html, *text, *shared, *unsub, *ad_marker;
	const char *public_url, *mailto, *domain, *selector, *dkim_pem, *tz;
	uint32_t has_html, has_text, ad_location, n;
	const void *key;
	size_t key_len;
	/* SendEmail: every copy carries To: all of to, Cc: all of cc (Bcc
	 * recipients are only envelope recipients) and the SmtpHeaders */
	uint32_t has_lists, nto, ncc;
	const char **to, **cc; /* owned arrays of borrowed strings */
	const char *smtp_headers;
	struct mime_header *xhdrs; /* SmtpHeaders, from xdata (run_job) */
	size_t nxhdrs;
	struct render_data xdata;
	struct rcpt *rcpts;
};

struct rcpt {
	uint64_t id;
	const char *email, *data, *msgid;
	struct buf msg; /* the finished message */
	int rejected;   /* sesd could not build it: reason in why */
	char why[256];
	struct relay_result res;
};

/* dkim_default_headers and Cc (a SendEmail's; names absent from a
 * message are left out of h=). SmtpHeaders are not signed. */
static const char *const signed_headers[] = {"From", "To", "Cc", "Subject",
    "Date", "Message-ID", "MIME-Version", "Content-Type", "List-Unsubscribe",
    "List-Unsubscribe-Post", NULL};

static volatile sig_atomic_t w_busy;
static volatile sig_atomic_t w_stop;

static void term_handler(int);
static void setup_signals(void);
static int read_job(const struct ipc_frame *, struct job *);
static int read_list(struct ipc_reader *, uint32_t *, const char ***);
static void free_job(struct job *);
struct scratch;
static void render_one(const struct job *, struct rcpt *,
    const struct render_data *, struct dkim_key *, int, struct scratch *);
static void run_job(struct job *, struct relay *, const char *);
static void send_results(int, const struct job *);
static struct relay *make_relay(const struct config *, char *, size_t);
static int utc_offset(const char *);

static void
term_handler(int sig)
{
	(void)sig;
	if (!w_busy)
		_exit(0);
	w_stop = 1;
}

static void
setup_signals(void)
{
	struct sigaction sa;
	sigset_t all;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = term_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static struct relay *
make_relay(const struct config *cfg, char *err, size_t errlen)
{
	struct relay_opts o;

	memset(&o, 0, sizeof(o));
	o.host = cfg->smtp_relay_host;
	o.port = cfg->smtp_relay_port;
	o.tls = cfg->smtp_starttls == STARTTLS_NONE ? RELAY_TLS_NONE
		: cfg->smtp_starttls == STARTTLS_REQUIRED
		    ? RELAY_TLS_REQUIRED
		    : RELAY_TLS_OPPORTUNISTIC;
	o.auth_user = cfg->smtp_auth_user;
	o.auth_pass = cfg->smtp_auth_password;
	o.helo = cfg->smtp_helo_name;
	o.connect_timeout_ms = cfg->smtp_connect_timeout * 1000;
	o.command_timeout_ms = cfg->smtp_command_timeout * 1000;
	o.tls_verify = true;
	return relay_new(&o, err, errlen);
}

/*
 * Minutes east of UTC now in zone tz. The worker is single-threaded, so
 * setting TZ and calling tzset() here races with nothing; the parent never
 * changes its own TZ.
 */
static int
utc_offset(const char *tz)
{
	static char cur[128];
	time_t now = time(NULL);
	struct tm tm;

	if (tz[0] != '\0' && strcmp(cur, tz) != 0) {
		setenv("TZ", tz, 1);
		tzset();
		snprintf(cur, sizeof(cur), "%s", tz);
	}
	if (localtime_r(&now, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

/* u32 n, then n strings: *list (owned, strings borrowed from the frame) */
static int
read_list(struct ipc_reader *rd, uint32_t *n, const char ***list)
{
	int rc = ipc_get_u32(rd, n);

	if (rc != 0 || *n > 1000)
		return -1;
	*list = xcalloc(*n ? *n : 1, sizeof(**list));
	for (uint32_t i = 0; i < *n; i++)
		rc |= ipc_get_str(rd, &(*list)[i]);
	return rc;
}

static void
free_job(struct job *j)
{
	for (uint32_t i = 0; i < j->n && j->rcpts != NULL; i++)
		buf_reset(&j->rcpts[i].msg);
	free(j->rcpts);
	free(j->to);
	free(j->cc);
	free(j->xhdrs);
	render_data_reset(&j->xdata);
}

static int
read_job(const struct ipc_frame *f, struct job *j)
{
	struct ipc_reader rd;
	int rc = 0;

	memset(j, 0, sizeof(*j));
	render_data_init(&j->xdata);
	j->seq = f->seq;
	ipc_read_begin(&rd, f);
	rc |= ipc_get_u64(&rd, &j->task);
	rc |= ipc_get_u64(&rd, &j->app);
	rc |= ipc_get_u32(&rd, &j->run);
	rc |= ipc_get_str(&rd, &j->kind);
	rc |= ipc_get_str(&rd, &j->mail_from);
	rc |= ipc_get_str(&rd, &j->from_addr);
	rc |= ipc_get_str(&rd, &j->from_name);
	rc |= ipc_get_str(&rd, &j->reply_to);
	rc |= ipc_get_str(&rd, &j->subject);
	rc |= ipc_get_u32(&rd, &j->has_html);
	rc |= ipc_get_str(&rd, &j->html);
	rc |= ipc_get_u32(&rd, &j->has_text);
	rc |= ipc_get_str(&rd, &j->text);
	rc |= ipc_get_str(&rd, &j->shared);
	rc |= ipc_get_str(&rd, &j->unsub);
	rc |= ipc_get_u32(&rd, &j->ad_location);
	rc |= ipc_get_str(&rd, &j->ad_marker);
	rc |= ipc_get_str(&rd, &j->public_url);
	rc |= ipc_get_bytes(&rd, &j->key, &j->key_len);
	rc |= ipc_get_str(&rd, &j->mailto);
	rc |= ipc_get_str(&rd, &j->domain);
	rc |= ipc_get_str(&rd, &j->selector);
	rc |= ipc_get_str(&rd, &j->dkim_pem);
	rc |= ipc_get_str(&rd, &j->tz);
	rc |= ipc_get_u32(&rd, &j->has_lists);
	if (rc != 0 || read_list(&rd, &j->nto, &j->to) != 0 ||
	    read_list(&rd, &j->ncc, &j->cc) != 0)
		return -1;
	rc |= ipc_get_str(&rd, &j->smtp_headers);
	rc |= ipc_get_u32(&rd, &j->n);
	if (rc != 0 || j->n > 100000)
		return -1;
	j->rcpts = xcalloc(j->n ? j->n : 1, sizeof(*j->rcpts));
	for (uint32_t i = 0; i < j->n; i++) {
		struct rcpt *r = &j->rcpts[i];
		rc |= ipc_get_u64(&rd, &r->id);
		rc |= ipc_get_str(&rd, &r->email);
		rc |= ipc_get_str(&rd, &r->data);
		rc |= ipc_get_str(&rd, &r->msgid);
		buf_init(&r->msg);
	}
	if (rc != 0 || ipc_read_end(&rd) != 0)
		return -1;
	return 0;
}

static void reject(struct rcpt *, const char *, ...) SESD_PRINTF(2, 3);

static void
reject(struct rcpt *r, const char *fmt, ...)
{
	va_list ap;

	r->rejected = 1;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

/* Puts footer in front of the last "</body>" of html, or at its end. */
static void
html_with_footer(struct buf *out, const struct buf *html, const struct buf *ft)
{
	size_t at = html->len;

	for (size_t i = html->len; i >= 7; i--) {
		if (strncasecmp(html->data + i - 7, "</body>", 7) == 0) {
			at = i - 7;
			break;
		}
	}
	buf_add(out, html->data, at);
	buf_adds(out, "\n<hr>\n");
	buf_add(out, ft->data, ft->len);
	buf_add(out, html->data + at, html->len - at);
}

/* A job's working buffers, emptied for each recipient and freed with the
 * job: allocated once, not a dozen times per message (malloc and free
 * were 8% of a worker's CPU in the delivery bench). */
struct scratch {
	struct buf subj, subj2, html, text, tok, url, lu, fth, ftt, tmp, sig;
};

/* fn (buf_init, buf_clear or buf_reset) on each of them */
static void
scratch_each(struct scratch *sc, void (*fn)(struct buf *))
{
	struct buf *all[] = {&sc->subj, &sc->subj2, &sc->html, &sc->text,
	    &sc->tok, &sc->url, &sc->lu, &sc->fth, &sc->ftt, &sc->tmp,
	    &sc->sig};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		fn(all[i]);
}

static void
render_one(const struct job *j, struct rcpt *r,
    const struct render_data *shared, struct dkim_key *key, int offset,
    struct scratch *sc)
{
	struct render_data d;
	struct render_err rerr;
	struct buf *subj = &sc->subj, *subj2 = &sc->subj2, *html = &sc->html;
	struct buf *text = &sc->text, *tok = &sc->tok, *url = &sc->url;
	struct buf *lu = &sc->lu, *fth = &sc->fth, *ftt = &sc->ftt;
	struct buf *tmp = &sc->tmp, *sig = &sc->sig;
	struct mime_header *hdrs = xcalloc(2 + j->nxhdrs, sizeof(*hdrs));
	struct mime_msg m;
	size_t nh = 0;
	const char *why = NULL;
	char err[200];
	bool unsub = j->unsub[0] != '\0' && strcmp(j->unsub, "0") != 0;

	render_data_init(&d);
	d.fallback = shared;
	scratch_each(sc, buf_clear);

	if (r->data[0] != '\0' && render_data_add_json(&d, r->data,
				      strlen(r->data), err, sizeof(err)) < 0) {
		reject(r, "recipient TemplateData: %s", err);
		goto done;
	}
	if (render_subst(subj, j->subject, strlen(j->subject), &d,
		RENDER_HEADER, &rerr) < 0 ||
	    (j->has_html && render_subst(html, j->html, strlen(j->html), &d,
				RENDER_HTML, &rerr) < 0) ||
	    (j->has_text && render_subst(text, j->text, strlen(j->text), &d,
				RENDER_TEXT, &rerr) < 0)) {
		r->rejected = 1;
		snprintf(r->why, sizeof(r->why), "template variable {{%s}}: %s",
		    rerr.name, render_err_to_text(rerr.kind));
		goto done;
	}
	if (unsub_subject(subj2, subj->data ? subj->data : "",
		(int)j->ad_location, j->ad_marker) < 0) {
		reject(r, "%s", "subject or ad marker holds CR or LF");
		goto done;
	}
	if (unsub) {
		struct unsub_fields uf;
		memset(&uf, 0, sizeof(uf));
		uf.app_id = j->app;
		uf.task_id = j->task;
		snprintf(uf.domain, sizeof(uf.domain), "%s", j->domain);
		snprintf(uf.rcpt, sizeof(uf.rcpt), "%s", r->email);
		if (j->key_len == 0) {
			reject(r, "%s",
			    "Unsubscribe requested but [content] "
			    "unsubscribe_key_file is not configured");
			goto done;
		}
		if (unsub_token_make(tok, &uf, j->key, j->key_len) < 0 ||
		    unsub_url(url, j->public_url, tok->data) < 0) {
			reject(r, "%s", "cannot make the unsubscribe link");
			goto done;
		}
		buf_addf(url, "&l=%s", j->unsub);
		if (unsub_list_unsubscribe(lu, url->data,
			j->mailto[0] ? j->mailto : NULL, tok->data) < 0 ||
		    unsub_footer(fth, j->unsub, 1, url->data) < 0 ||
		    unsub_footer(ftt, j->unsub, 0, url->data) < 0) {
			reject(r, "unsubscribe footer for language %s failed",
			    j->unsub);
			goto done;
		}
		hdrs[nh].name = UNSUB_HDR_LIST;
		hdrs[nh++].value = lu->data;
		hdrs[nh].name = UNSUB_HDR_POST;
		hdrs[nh++].value = UNSUB_HDR_POST_VALUE;
		if (j->has_html) {
			struct buf t;
			html_with_footer(tmp, html, fth);
			t = *html;
			*html = *tmp;
			*tmp = t;
			buf_clear(tmp);
		}
		if (j->has_text) {
			if (text->len > 0 && text->data[text->len - 1] != '\n')
				buf_addc(text, '\n');
			buf_adds(text, "\n");
			buf_add(text, ftt->data, ftt->len);
		}
	}
	for (size_t i = 0; i < j->nxhdrs; i++)
		hdrs[nh++] = j->xhdrs[i];
	memset(&m, 0, sizeof(m));
	m.from_addr = j->from_addr;
	m.from_name = j->from_name;
	m.to_addr = r->email;
	if (j->has_lists) {
		/* one message for all: the same To: and Cc: in every copy */
		m.to_list = j->to;
		m.nto = j->nto;
		m.cc_list = j->cc;
		m.ncc = j->ncc;
	}
	m.reply_to = email_valid(j->reply_to, 254) ? j->reply_to : NULL;
	m.subject = subj2->data ? subj2->data : "";
	m.date = time(NULL);
	m.utc_offset_min = offset;
	m.message_id = r->msgid;
	m.headers = hdrs;
	m.nheaders = nh;
	if (j->has_html) {
		m.html = html->data ? html->data : "";
		m.html_len = html->len;
	}
	if (j->has_text) {
		m.text = text->data ? text->data : "";
		m.text_len = text->len;
	}
	/* the message's own buffer, at its size or so (QP adds a little) */
	buf_reserve(tmp, (html->len + text->len) * 11 / 10 + 2048);
	if (mime_build(&m, tmp, NULL, &why) < 0) {
		reject(r, "message not built: %s", why);
		goto done;
	}
	if (key != NULL) {
		if (dkim_sign(key, j->domain, j->selector, signed_headers,
			(long long)m.date, tmp->data, tmp->len, sig,
			&why) < 0) {
			reject(r, "DKIM signature failed: %s", why);
			goto done;
		}
		buf_reserve(&r->msg, sig->len + tmp->len);
		buf_add(&r->msg, sig->data, sig->len);
		buf_add(&r->msg, tmp->data, tmp->len);
	} else {
		/* the recipient keeps the built message's buffer */
		buf_reset(&r->msg);
		r->msg = *tmp;
		buf_init(tmp);
	}
	if (r->msg.data == NULL)
		buf_adds(&r->msg, "");
done:
	free(hdrs);
	render_data_reset(&d);
}

static void
run_job(struct job *j, struct relay *relay, const char *relay_err)
{
	struct render_data shared;
	struct scratch sc;
	struct dkim_key *key = NULL;
	struct relay_msg *msgs;
	struct relay_result *res;
	size_t *map, nm = 0;
	const char *why = NULL;
	char err[256];
	int offset = utc_offset(j->tz);

	render_data_init(&shared);
	if (j->smtp_headers[0] != '\0') {
		if (render_data_add_json(&j->xdata, j->smtp_headers,
			strlen(j->smtp_headers), err, sizeof(err)) < 0) {
			for (uint32_t i = 0; i < j->n; i++)
				reject(&j->rcpts[i], "SmtpHeaders: %s", err);
			render_data_reset(&shared);
			return;
		}
		j->xhdrs =
		    xcalloc(j->xdata.n ? j->xdata.n : 1, sizeof(*j->xhdrs));
		for (size_t i = 0; i < j->xdata.n; i++) {
			j->xhdrs[i].name = j->xdata.kv[i].name;
			j->xhdrs[i].value = j->xdata.kv[i].value;
		}
		j->nxhdrs = j->xdata.n;
	}
	if (j->shared[0] != '\0' &&
	    render_data_add_json(
		&shared, j->shared, strlen(j->shared), err, sizeof(err)) < 0) {
		for (uint32_t i = 0; i < j->n; i++)
			reject(&j->rcpts[i], "Template.TemplateData: %s", err);
		render_data_reset(&shared);
		return;
	}
	if (j->dkim_pem[0] != '\0' && (key = dkim_key_new(j->dkim_pem,
					   strlen(j->dkim_pem), &why)) == NULL)
		log_warn("task %llu: DKIM key of %s unusable (%s): sending "
			 "unsigned",
		    (unsigned long long)j->task, j->domain, why);
	scratch_each(&sc, buf_init);
	for (uint32_t i = 0; i < j->n; i++)
		render_one(j, &j->rcpts[i], &shared, key, offset, &sc);
	scratch_each(&sc, buf_reset);
	dkim_key_free(key);
	render_data_reset(&shared);

	msgs = xcalloc(j->n ? j->n : 1, sizeof(*msgs));
	res = xcalloc(j->n ? j->n : 1, sizeof(*res));
	map = xcalloc(j->n ? j->n : 1, sizeof(*map));
	for (uint32_t i = 0; i < j->n; i++) {
		if (j->rcpts[i].rejected)
			continue;
		msgs[nm].mail_from = j->mail_from;
		msgs[nm].rcpt = j->rcpts[i].email;
		msgs[nm].data = j->rcpts[i].msg.data;
		map[nm++] = i;
	}
	if (nm > 0 && relay == NULL) {
		for (size_t k = 0; k < nm; k++) {
			res[k].outcome = RELAY_TEMPFAIL;
			snprintf(
			    res[k].text, sizeof(res[k].text), "%s", relay_err);
		}
	} else if (nm > 0 &&
		   relay_session(relay, msgs, nm, res, err, sizeof(err)) < 0) {
		log_warn("task %llu: relay session failed (%s): %s",
		    (unsigned long long)j->task,
		    relay_fail_to_text(relay_failure(relay)), err);
	}
	for (size_t k = 0; k < nm; k++)
		j->rcpts[map[k]].res = res[k];
	free(msgs);
	free(res);
	free(map);
}

static void
send_results(int fd, const struct job *j)
{
	struct ipc_out o;

	ipc_out_init(&o);
	for (uint32_t i = 0; i < j->n; i++) {
		const struct rcpt *r = &j->rcpts[i];
		ipc_begin(&o, IPC_WORKER_RESULT, j->seq);
		ipc_add_u64(&o, r->id);
		if (r->rejected) {
			ipc_add_u32(&o, DELIVERY_OUT_REJECTED);
			ipc_add_u32(&o, RELAY_STAGE_NONE);
			ipc_add_u32(&o, 0);
			ipc_add_str(&o, "");
			ipc_add_str(&o, r->why);
		} else {
			ipc_add_u32(&o, (uint32_t)r->res.outcome);
			ipc_add_u32(&o, (uint32_t)r->res.stage);
			ipc_add_u32(&o, (uint32_t)r->res.code);
			ipc_add_str(&o, r->res.enh);
			ipc_add_str(&o, r->res.text);
		}
		if (ipc_end(&o) < 0)
			fatalx("result frame too large");
	}
	if (ipc_write_all(fd, o.buf.data, o.buf.len) < 0)
		fatal("writing results");
	ipc_out_reset(&o);
}

void
worker_main(int fd, int slot, const struct config *cfg)
{
	struct ipc_in in;
	struct ipc_out o;
	struct ipc_frame f;
	struct relay *relay;
	char name[16], role[32], err[256] = "";
	int rc;

	setup_signals();
	snprintf(name, sizeof(name), "sesd: smtp %d", slot);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	snprintf(role, sizeof(role), "smtp %d", slot);
	log_set_role(role);
	if ((relay = make_relay(cfg, err, sizeof(err))) == NULL)
		log_error("relay: %s", err);

	ipc_out_init(&o);
	ipc_begin(&o, IPC_WORKER_HELLO, 0);
	ipc_add_u32(&o, IPC_VERSION);
	ipc_add_u32(&o, (uint32_t)slot);
	ipc_add_u32(&o, (uint32_t)getpid());
	if (ipc_end(&o) < 0 || ipc_write_all(fd, o.buf.data, o.buf.len) < 0)
		_exit(1);
	ipc_out_reset(&o);

	ipc_in_init(&in);
	while (!w_stop) {
		struct job j;

		rc = ipc_read_frame(fd, &in, &f);
		if (rc == IPC_CLOSED)
			break;
		if (rc < 0)
			fatal("reading a job");
		if (f.type == IPC_POOL_SHUTDOWN)
			break;
		/* a job over IPC_PAYLOAD_MAX came as a memfd */
		if ((f.flags & IPC_F_FD) != 0 && ipc_frame_map(&in, &f, &f) < 0)
			fatal("mapping the job of seq %llu",
			    (unsigned long long)f.seq);
		if (f.type != IPC_POOL_JOB)
			fatalx("unexpected frame %s seq %llu",
			    ipc_type_to_text(f.type),
			    (unsigned long long)f.seq);
		w_busy = 1;
		if (read_job(&f, &j) < 0)
			fatalx("malformed IPC_POOL_JOB seq %llu",
			    (unsigned long long)f.seq);
		run_job(&j, relay, err);
		send_results(fd, &j);
		free_job(&j);
		w_busy = 0;
	}
	ipc_in_reset(&in);
	relay_free(relay);
	_exit(0);
}
