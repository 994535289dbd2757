/*
 * worker.h: an SMTP worker process (DESIGN.md section 1, STYLE.md section
 * 3). Forked by pool.c; no database, no event loop: it blocks on its end
 * of a socketpair for one IPC_POOL_JOB at a time, renders every message of
 * the batch (render.c, unsub.c, mime.c, dkim.c), relays them on ONE SMTP
 * session (relay.c) and answers one IPC_WORKER_RESULT per recipient.
 *
 * IPC_POOL_JOB payload (seq = the batch), in order:
 *   u64 task, u64 app, u32 run, str kind ("batch"/"single"),
 *   str mail_from (envelope sender), str from_addr, str from_name,
 *   str reply_to ("" none), str subject, u32 has_html, str html,
 *   u32 has_text, str text, str shared TemplateData ("" none),
 *   str unsubscribe ("" or "0": none; "1".."12"), u32 ad_location,
 *   str ad_marker, str public_url, bytes unsubscribe key (0 bytes: not
 *   configured), str unsubscribe mailto ("" none), str sender domain,
 *   str dkim selector, str dkim private key PEM ("" = do not sign),
 *   str time_zone (for the Date: offset),
 *   u32 has_lists (1: SendEmail, the headers below apply), u32 nto, nto
 *   times str To address, u32 ncc, ncc times str Cc address, str
 *   SmtpHeaders JSON object ("" none), u32 n, then n times:
 *   u64 delivery id, str email, str TemplateData ("" none), str Message-ID.
 * IPC_WORKER_RESULT payload (seq = the batch), one per recipient:
 *   u64 delivery id, u32 outcome (delivery.h enum delivery_out), u32 stage
 *   (relay.h enum relay_stage), u32 SMTP code (0 none), str enhanced code
 *   ("" none), str reply text.
 * IPC_WORKER_HELLO: u32 IPC_VERSION, u32 slot, u32 pid, sent at start.
 *
 * Signals: SIGTERM while waiting for a job exits at once; during a batch it
 * lets the session finish, sends the results, then exits. SIGINT and
 * SIGHUP are ignored (the parent owns them). EOF on the socket (the
 * parent went away or closed it at shutdown) and IPC_POOL_SHUTDOWN exit 0.
 */
#ifndef SESD_WORKER_H
#define SESD_WORKER_H

#include "config.h"
#include "log.h"

/* Runs the worker on fd (its socket; every other fd already closed) and
 * exits the process; never returns. cfg is the parent's at fork time. */
void worker_main(int fd, int slot, const struct config *cfg) SESD_NORETURN;

#endif
