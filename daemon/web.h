/*
 * web.h: the public pages on [web] listen (DESIGN.md section 6), reached
 * from links in delivered mail, so unauthenticated and open to anyone:
 *
 *   GET  /unsubscribe?t=TOKEN[&l=CODE]  a localized confirmation page with
 *                                       one button; never unsubscribes
 *   POST /unsubscribe?t=TOKEN[&l=CODE]  body List-Unsubscribe=One-Click
 *                                       (RFC 8058, urlencoded or multipart;
 *                                       the page's form sends the same):
 *                                       suppresses the token's recipient for
 *                                       its sender domain, 200, idempotent
 *
 * TOKEN is unsub.h's HMAC token, checked with [content]
 * unsubscribe_key_file's key; CODE is the task's Unsubscribe language
 * ("1".."12", ses-api.md 4.1), which only picks the page's language (not
 * MACed: changing it changes nothing else); absent or unknown means
 * English. Answers: 400 for a bad token (or a POST without the one-click
 * field), 404 for any other path, 405 for any other method, 503 while the
 * database is unreachable. The token is never logged.
 */
#ifndef SESD_WEB_H
#define SESD_WEB_H

#include <stddef.h>

struct config;
struct db;
struct event_base;
struct web;

/* The handler; queries go to db (borrowed, must outlive the web). */
struct web *web_new(struct event_base *base, struct db *db);
/*
 * Takes what the pages need from cfg (a copy of the unsubscribe key,
 * the client timeout); call before web_listen() and on every reload.
 * cfg stays the caller's.
 */
void web_set_config(struct web *w, const struct config *cfg);
/* Binds host:port. Returns 0, or -1 with a reason in err. */
int web_listen(struct web *w, const char *hostport, char *err, size_t errlen);
/* Closes the listening socket; requests in progress go on. */
void web_stop_accepting(struct web *w);
/* Requests waiting on the database. */
size_t web_inflight(const struct web *w);
/* Frees w; call after db_free(), which answers the pending queries. */
void web_free(struct web *w);

#endif
