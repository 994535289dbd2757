-- 0003_sending: what BatchSendEmail and SendEmail accept (ses-api.md 5.1),
-- its release into runs, and one delivery row per recipient per run
-- (DESIGN.md 3-5). Every row carries app_id; every query filters on it.
--
-- send_tasks: one row per accepted request. kind 'batch' is a
-- BatchSendEmail (ListSendTasks shows these), kind 'single' a SendEmail.
-- The request's fields are kept as given, for ListSendTasks to echo them;
-- beside them what sesd resolved at acceptance: the sender (registered
-- address, display name, domain) and a SNAPSHOT of the template (html,
-- text, variables). Every run of the task renders from the snapshot, so
-- a later UpdateEmailTemplate or DeleteEmailTemplate does not change a
-- task already accepted (a scheduled or periodic one included), just as
-- the list's rows are copied into deliveries when a run is released.
--
-- status (ses-api.md 3.10 TaskStatus): 1 waiting for its first run, 5
-- sending, 6 paused for the day, 7 error (err_msg says why), 10 finished.
-- A TaskType 1 task is released by the statement that accepts it: status
-- 5, or 10 when every recipient is suppressed. TaskType 2 and 3 wait at
-- status 1 with next_run_at = begin_at; the scheduler releases them.
CREATE TABLE send_tasks (
	id                 bigserial PRIMARY KEY,
	app_id             bigint NOT NULL,
	kind               text NOT NULL CHECK (kind IN ('batch', 'single')),
	task_type          smallint NOT NULL CHECK (task_type IN (1, 2, 3)),
	status             smallint NOT NULL CHECK (status IN (1, 5, 6, 7, 10)),
	err_msg            text NOT NULL DEFAULT '',
	request_count      integer NOT NULL DEFAULT 0, -- recipients of all runs so far

	-- as given in the request
	from_email         text NOT NULL,     -- FromEmailAddress
	receiver_id        bigint,            -- batch: ReceiverId
	receivers_name     text,              -- batch: the list's name at acceptance
	subject            text NOT NULL,     -- may hold {{variables}}
	template_id        bigint NOT NULL,   -- Template.TemplateID
	template_data      text,              -- Template.TemplateData, NULL: absent
	begin_time         text,              -- TimedParam/CycleParam.BeginTime
	interval_hours     integer CHECK (interval_hours > 0), -- CycleParam.IntervalTime
	term_cycle         smallint CHECK (term_cycle IN (0, 1)), -- CycleParam.TermCycle
	unsubscribe        text               -- "0".."12", NULL: absent (none)
	                   CHECK (unsubscribe ~ '^(0|[1-9]|1[0-2])$'),
	ad_location        smallint NOT NULL DEFAULT 0 CHECK (ad_location IN (0, 1, 2)),
	reply_to           text,              -- ReplyToAddresses, NULL: none
	-- single only: the headers of the one message
	destinations       text[],            -- To, as given
	cc                 text[],            -- Cc, as given
	bcc                text[],            -- Bcc (never in a header)
	trigger_type       smallint CHECK (trigger_type IN (0, 1)),
	smtp_headers       text,              -- SmtpHeaders: JSON object of strings, checked
	header_from        text,              -- HeaderFrom as given
	header_from_addr   text,              -- its address: the From: header's, when set
	header_from_name   text,              -- its display name, '' if none

	-- resolved at acceptance
	sender_addr        text NOT NULL,     -- the registered sender address (MAIL FROM)
	sender_name        text NOT NULL DEFAULT '', -- From: display name
	sender_domain      text NOT NULL,     -- lower case; DKIM key, suppressions
	template_html      text,              -- snapshot of templates.html
	template_text      text,              -- snapshot of templates.text_body
	template_variables text[] NOT NULL,   -- snapshot of templates.variables
	msgid_key          text NOT NULL      -- per-task salt of the Message-IDs
	                   DEFAULT substr(md5(random()::text || clock_timestamp()::text), 1, 12),

	-- schedule, in absolute time ([sesd] time_zone applied at acceptance)
	begin_at           timestamptz,       -- BeginTime
	next_run_at        timestamptz,       -- next release; NULL: none to come
	created_at         timestamptz NOT NULL DEFAULT now(),
	updated_at         timestamptz NOT NULL DEFAULT now(),

	CHECK ((kind = 'batch') = (receiver_id IS NOT NULL)),
	CHECK (kind = 'batch' OR (task_type = 1 AND destinations IS NOT NULL)),
	CHECK (task_type = 1 OR begin_at IS NOT NULL),
	CHECK (task_type <> 3 OR interval_hours IS NOT NULL),
	CHECK (template_html IS NOT NULL OR template_text IS NOT NULL)
);
CREATE INDEX send_tasks_app ON send_tasks (app_id, kind, id);
-- the scheduler's refill: tasks with a run to come, soonest first
CREATE INDEX send_tasks_next_run ON send_tasks (next_run_at)
	WHERE next_run_at IS NOT NULL;

-- One row per release of a task: the primary key makes a run released
-- once, whatever crashes or however many sesd nodes share the database
-- (INSERT ... ON CONFLICT DO NOTHING, then materialise the deliveries in
-- the same statement). A SendEmail is run 1 of its 'single' task.
CREATE TABLE task_runs (
	app_id      bigint NOT NULL,
	task_id     bigint NOT NULL REFERENCES send_tasks ON DELETE CASCADE,
	run_no      integer NOT NULL CHECK (run_no >= 1),
	recipients  integer NOT NULL DEFAULT 0, -- delivery rows of this run
	released_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (task_id, run_no)
);

-- One row per envelope recipient per run. A batch run has one row per
-- address of the list (copied with its TemplateData when the run is
-- released); a SendEmail has one row per distinct address of Destination,
-- Cc and Bcc, all for the same message: same Message-ID, same To: and Cc:
-- headers (from send_tasks), one SMTP transaction with one RCPT each, so
-- every recipient has its own outcome, retries and suppression.
--
-- State machine (the dispatcher and the workers drive it):
--
--   release  -> queued      or suppressed: an address under an active
--                           suppression for the sender domain
--   queued   -> sending     claimed, with a lease
--   sending  -> sent        2xx
--   sending  -> bounced     5xx (a hard bounce also adds a suppression)
--   sending  -> deferred    4xx, connection failure, timeout, worker died,
--                           lease expired; next_attempt_at = backoff
--   deferred -> sending     claimed again once next_attempt_at has come
--   deferred -> failed      not sent within [smtp] max_retry_age
--
-- * claim: UPDATE ... SET state = 'sending', lease_until = now() + lease,
--   lease_owner = node, attempts = attempts + 1 WHERE id IN (SELECT id
--   FROM deliveries WHERE state IN ('queued', 'deferred') AND
--   next_attempt_at <= now() ORDER BY next_attempt_at LIMIT n FOR UPDATE
--   SKIP LOCKED) -- served by deliveries_due.
-- * results are written back in batches: sent (sent_at), deferred
--   (next_attempt_at = now() + backoff), bounced or failed, with the SMTP
--   code and reply kept verbatim; lease_until and lease_owner cleared.
-- * a 'sending' row whose lease_until has passed (its node died) goes back
--   to deferred -- served by deliveries_leased.
-- sent, bounced, failed and suppressed are final.
--
-- No foreign key to task_runs: its check is one index probe per row and
-- cost 0.4 s of 1.3 s in a 50,000-recipient release. Deliveries are only ever
-- inserted by the statement that inserts their task_runs row (and that
-- row's send_tasks row), which is what such a key would protect.
--
-- message_id is the Message-ID header's "left@right" (without the angle
-- brackets), derived from the row by sesd_message_id() below, so a
-- message sent twice (a crash between the SMTP session and the result)
-- carries the same id and is recognisable downstream; a SendEmail's
-- SmtpMessageId replaces it. SendEmail returns it as MessageId.
CREATE TABLE deliveries (
	id              bigserial PRIMARY KEY,
	app_id          bigint NOT NULL,
	task_id         bigint NOT NULL,
	run_no          integer NOT NULL,
	email           text NOT NULL,
	template_data   text,               -- the list's per-recipient TemplateData, as given
	state           text NOT NULL CHECK (state IN ('queued', 'sending', 'sent',
	                    'deferred', 'bounced', 'failed', 'suppressed')),
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz,        -- queued/deferred: when it may be claimed
	lease_until     timestamptz,        -- sending: the claim expires then
	lease_owner     text,               -- sending: which node holds it
	smtp_code       integer,            -- last SMTP reply code, NULL: none yet
	smtp_reply      text,               -- last SMTP reply text, verbatim
	message_id      text NOT NULL,
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	sent_at         timestamptz,
	CHECK (state NOT IN ('queued', 'deferred') OR next_attempt_at IS NOT NULL),
	CHECK (state <> 'sending' OR lease_until IS NOT NULL),
	CHECK (state <> 'sent' OR sent_at IS NOT NULL)
);
-- A recipient once per run, ignoring case (lists and SendEmail's
-- recipients are distinct that way already).
CREATE UNIQUE INDEX deliveries_rcpt ON deliveries (task_id, run_no, lower(email));
-- the dispatcher's claim
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
	WHERE state IN ('queued', 'deferred');
-- leases of dead nodes
CREATE INDEX deliveries_leased ON deliveries (lease_until)
	WHERE state = 'sending';
-- GetSendEmailStatus: one account's records of one day
CREATE INDEX deliveries_app_created ON deliveries (app_id, created_at);

-- The Message-ID of a delivery, "left@right" without angle brackets:
--   batch run:  <task>.<run>.<delivery>.<key>@<sender domain>
--   SendEmail:  <task>.<key>@<sender domain>   (delivery NULL: one message
--               for all its recipients)
-- key is send_tasks.msgid_key, random per task, so two databases (staging
-- and production sending for one domain) never mint the same id.
CREATE FUNCTION sesd_message_id(task bigint, run integer, delivery bigint,
    key text, domain text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN delivery IS NULL
	       THEN task || '.' || key || '@' || domain
	       ELSE task || '.' || run || '.' || delivery || '.' || key || '@' || domain
	       END
$$;
