'use strict';
/*
 * Sending (ses-api.md 5.1) through the official Node SDK: BatchSendEmail and SendEmail up to
 * the queued deliveries (no SMTP here). Checks with psql what the statement wrote: the task
 * row with its template snapshot, run 1 and one delivery per recipient with its data for
 * TaskType 1 (suppressed rows for the custom blacklist, an unsubscribe or a bounce for the
 * sender domain, but not an unsubscribe for another domain), TaskType 2/3 waiting with
 * next_run_at, every validation error code with "a rejected request creates nothing",
 * account isolation, and the time to accept a 50,000-recipient task.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startPg, startSesd, sdkClient, expectCode } = require('./lib/stack');

let pg;
let sesd;
let A;
let B;

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const SENDER = 'noreply@mail.example.com';
const HTML = '<p>Hello {{name}}, your code is {{code}}</p>';
const TEXT = 'Hello {{name}}, code {{code}}';
const ids = {};

/* "YYYY-MM-DD HH:MM:SS" in Asia/Shanghai (UTC+8, no DST), secs from now */
function shanghai(secs) {
	const d = new Date(Date.now() + secs * 1000 + 8 * 3600 * 1000);
	return d.toISOString().slice(0, 19).replace('T', ' ');
}

function counts() {
	return pg.psql('SELECT (SELECT count(*) FROM send_tasks) || \',\' || (SELECT count(*) FROM task_runs) '
		+ '|| \',\' || (SELECT count(*) FROM deliveries)');
}

/* Runs every [promise-maker, code] pair and checks that none of them wrote a row. */
async function rejects(cases) {
	const before_ = counts();
	for (const [make, code, what] of cases) {
		try {
			await expectCode(make(), code);
		} catch (e) {
			e.message = `${what || ''}: ${e.message}`;
			throw e;
		}
	}
	assert.equal(counts(), before_, 'a rejected request created rows');
}

async function newList(client, name, datas) {
	const r = await client.CreateReceiver({ ReceiversName: name });
	if (datas && datas.length && typeof datas[0] === 'string')
		await client.CreateReceiverDetail({ ReceiverId: r.ReceiverId, Emails: datas });
	else if (datas && datas.length)
		await client.CreateReceiverDetailWithData({ ReceiverId: r.ReceiverId, Datas: datas });
	return r.ReceiverId;
}

before(async () => {
	pg = await startPg();
	/* workers = 0: no dispatcher, so the deliveries stay as the statement wrote them */
	sesd = await startSesd({ pg, conf: { api: { rate_limit: 0 }, smtp: { workers: 0 } } });
	A = sdkClient(sesd, 0);
	B = sdkClient(sesd, 1);

	await A.CreateEmailIdentity({ EmailIdentity: 'mail.example.com' });
	await A.CreateEmailAddress({ EmailAddress: SENDER, EmailSenderName: 'Shop' });
	await A.CreateEmailIdentity({ EmailIdentity: 'pending.example.com' });
	await A.CreateEmailAddress({ EmailAddress: 'x@pending.example.com' });
	pg.psql("UPDATE email_identities SET verified = false WHERE domain = 'pending.example.com'");
	await B.CreateEmailIdentity({ EmailIdentity: 'b.example.net' });
	await B.CreateEmailAddress({ EmailAddress: 'news@b.example.net' });

	ids.tpl = (await A.CreateEmailTemplate({ TemplateName: 'welcome',
		TemplateContent: { Html: b64(HTML), Text: b64(TEXT) } })).TemplateID;
	ids.plain = (await A.CreateEmailTemplate({ TemplateName: 'plain',
		TemplateContent: { Text: b64('No variables here.') } })).TemplateID;
	ids.pending = (await A.CreateEmailTemplate({ TemplateName: 'pending',
		TemplateContent: { Text: b64('x') } })).TemplateID;
	pg.psql(`UPDATE templates SET status = 1 WHERE id = ${ids.pending}`);
	ids.tplB = (await B.CreateEmailTemplate({ TemplateName: 'b',
		TemplateContent: { Text: b64('b {{name}}') } })).TemplateID;

	const data = (name, code) => JSON.stringify({ name, code });
	ids.list = await newList(A, 'customers', [
		{ Email: 'ann@example.org', TemplateData: data('Ann', '1') },
		{ Email: 'bob@example.org', TemplateData: data('Bob', '2') },
		{ Email: 'Carl@Example.org', TemplateData: '{ "code" : "3", "name" : "Carl \\u00e9" }' },
		{ Email: 'dora@example.org', TemplateData: data('Dora', '4') },
		{ Email: 'eve@example.org', TemplateData: data('Eve', '5') },
		{ Email: 'fred@example.org', TemplateData: data('Fred', '6') },
	]);
	ids.nodata = await newList(A, 'no data', ['gus@example.org', 'hal@example.org']);
	ids.empty = await newList(A, 'empty');
	ids.onlyBlocked = await newList(A, 'only blocked', ['bob@example.org']);
	ids.listB = await newList(B, 'b list', [{ Email: 'zed@example.org', TemplateData: '{"name":"Zed"}' }]);

	/* bob: custom blacklist; CARL (case!): unsubscribed from this sender domain; dora:
	 * unsubscribed from another domain only (must still be mailed); eve: hard bounce for
	 * every domain; fred: an expired custom entry (mailed) */
	await A.CreateCustomBlacklist({ Emails: ['bob@example.org'] });
	pg.psql(`INSERT INTO suppressions (app_id, reason, domain, email) VALUES
		(1000001, 'unsubscribe', 'mail.example.com', 'carl@example.org'),
		(1000001, 'unsubscribe', 'other.example.com', 'dora@example.org'),
		(1000001, 'bounce', NULL, 'eve@example.org'),
		(1000001, 'custom', NULL, 'fred@example.org'),
		(1000002, 'custom', NULL, 'ann@example.org')`);
	pg.psql("UPDATE suppressions SET expire_date = current_date - 1 WHERE email = 'fred@example.org'");
});

after(async () => {
	if (sesd)
		await sesd.stop();
	if (pg)
		await pg.stop();
});

function batch(extra = {}) {
	return {
		FromEmailAddress: SENDER,
		ReceiverId: ids.list,
		Subject: 'Welcome {{name}}',
		TaskType: 1,
		Template: { TemplateID: ids.tpl },
		...extra,
	};
}

function rows(sql) {
	const out = pg.psql(sql);
	return out === '' ? [] : out.split('\n').map((l) => l.split('|'));
}

test('BatchSendEmail TaskType 1: task, run 1 and one delivery per recipient', async () => {
	const r = await A.BatchSendEmail(batch({ ReplyToAddresses: 'help@mail.example.com', Unsubscribe: '2',
		ADLocation: 1 }));
	assert.deepEqual(Object.keys(r).sort(), ['RequestId', 'TaskId']);
	assert.ok(Number.isInteger(r.TaskId) && r.TaskId > 0);
	const t = r.TaskId;

	const [task] = rows(`SELECT app_id, kind, task_type, status, request_count, from_email, receiver_id,
		receivers_name, subject, template_id, coalesce(template_data, 'NULL'), unsubscribe, ad_location,
		reply_to, sender_addr, sender_name, sender_domain, template_html, template_text,
		array_to_string(template_variables, ','), coalesce(next_run_at::text, 'NULL'),
		coalesce(begin_at::text, 'NULL'), err_msg FROM send_tasks WHERE id = ${t}`);
	assert.deepEqual(task, ['1000001', 'batch', '1', '5', '6', SENDER, String(ids.list), 'customers',
		'Welcome {{name}}', String(ids.tpl), 'NULL', '2', '1', 'help@mail.example.com', SENDER, 'Shop',
		'mail.example.com', HTML, TEXT, 'code,name', 'NULL', 'NULL', '']);
	assert.equal(pg.psql(`SELECT run_no || ',' || recipients FROM task_runs WHERE task_id = ${t}`), '1,6');

	const d = rows(`SELECT email, state, coalesce(template_data, 'NULL'), run_no, app_id,
		next_attempt_at IS NOT NULL, attempts, message_id, id FROM deliveries WHERE task_id = ${t} ORDER BY id`);
	assert.equal(d.length, 6);
	assert.deepEqual(d.map((x) => [x[0], x[1]]), [
		['ann@example.org', 'queued'],
		['bob@example.org', 'suppressed'],
		['Carl@Example.org', 'suppressed'],
		['dora@example.org', 'queued'],
		['eve@example.org', 'suppressed'],
		['fred@example.org', 'queued'],
	]);
	/* per-recipient data copied byte for byte */
	assert.equal(d[0][2], '{"name":"Ann","code":"1"}');
	assert.equal(d[2][2], '{ "code" : "3", "name" : "Carl \\u00e9" }');
	for (const x of d) {
		assert.equal(x[3], '1');
		assert.equal(x[4], '1000001');
		assert.equal(x[5], x[1] === 'queued' ? 't' : 'f');
		assert.equal(x[6], '0');
		assert.match(x[7], new RegExp(`^${t}\\.1\\.${x[8]}\\.[0-9a-f]{12}@mail\\.example\\.com$`));
	}
	assert.equal(new Set(d.map((x) => x[7])).size, 6);
});

test('BatchSendEmail: shared TemplateData, display name, all recipients suppressed', async () => {
	/* a list without data: Template.TemplateData covers every variable; extra keys are fine */
	const r = await A.BatchSendEmail(batch({ ReceiverId: ids.nodata, FromEmailAddress: '"Shop Team" <NoReply@mail.example.com>',
		Subject: '优惠'.repeat(50), Template: { TemplateID: ids.tpl, TemplateData: '{"name":"friend","code":"X","extra":"y"}' } }));
	assert.equal(pg.psql(`SELECT sender_name || '|' || from_email || '|' || template_data || '|' || status
		FROM send_tasks WHERE id = ${r.TaskId}`),
		'Shop Team|"Shop Team" <NoReply@mail.example.com>|{"name":"friend","code":"X","extra":"y"}|5');
	assert.equal(pg.psql(`SELECT string_agg(email || ':' || state || ':' || coalesce(template_data, 'NULL'), ',' ORDER BY id)
		FROM deliveries WHERE task_id = ${r.TaskId}`), 'gus@example.org:queued:NULL,hal@example.org:queued:NULL');

	/* every recipient suppressed: finished at once, nothing queued */
	const r2 = await A.BatchSendEmail(batch({ ReceiverId: ids.onlyBlocked, Template: { TemplateID: ids.plain },
		Subject: 'Hi' }));
	assert.equal(pg.psql(`SELECT status || ',' || request_count FROM send_tasks WHERE id = ${r2.TaskId}`), '10,1');
	assert.equal(pg.psql(`SELECT string_agg(state, ',') FROM deliveries WHERE task_id = ${r2.TaskId}`), 'suppressed');
});

test('BatchSendEmail TaskType 2 and 3: stored waiting with next_run_at, no run yet', async () => {
	const begin = shanghai(3600);
	const r = await A.BatchSendEmail(batch({ TaskType: 2, TimedParam: { BeginTime: begin } }));
	const [t] = rows(`SELECT task_type, status, request_count, begin_time,
		to_char(begin_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'), next_run_at = begin_at,
		coalesce(interval_hours::text, 'NULL') FROM send_tasks WHERE id = ${r.TaskId}`);
	assert.deepEqual(t, ['2', '1', '0', begin, begin, 't', 'NULL']);

	assert.equal(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${r.TaskId}`), '0');
	assert.equal(pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${r.TaskId}`), '0');

	/* a few seconds in the past is within the grace: stored with that BeginTime, and the
	 * scheduler releases run 1 at once (its next run a day after BeginTime) */
	const past = shanghai(-5);
	const c = await A.BatchSendEmail(batch({ TaskType: 3, CycleParam: { BeginTime: past, IntervalTime: 24, TermCycle: 0 },
		TimedParam: { BeginTime: '2000-01-01 00:00:00' } }));
	const [u] = rows(`SELECT task_type, interval_hours, term_cycle, begin_time
		FROM send_tasks WHERE id = ${c.TaskId}`);
	assert.deepEqual(u, ['3', '24', '0', past]);
	for (let i = 0; i < 50 && pg.psql(`SELECT last_run_no FROM send_tasks WHERE id = ${c.TaskId}`) !== '1'; i++)
		await new Promise((res) => setTimeout(res, 100));
	const [v] = rows(`SELECT status, last_run_no, next_run_at = begin_at + interval '24 hours',
		(SELECT count(*) FROM task_runs WHERE task_id = ${c.TaskId}) FROM send_tasks WHERE id = ${c.TaskId}`);
	assert.deepEqual(v, ['5', '1', 't', '1']);
	/* TermCycle is optional */
	const c2 = await A.BatchSendEmail(batch({ TaskType: 3, CycleParam: { BeginTime: shanghai(60), IntervalTime: 1 } }));
	assert.equal(pg.psql(`SELECT coalesce(term_cycle::text, 'NULL') FROM send_tasks WHERE id = ${c2.TaskId}`), 'NULL');
});

test('BatchSendEmail: every validation error, and a rejected request creates nothing', async () => {
	const without = (k) => {
		const b = batch();
		delete b[k];
		return b;
	};
	const SP = 'MissingParameter.SendParamNecessary';
	const IPV = 'InvalidParameterValue';
	const SAS = 'OperationDenied.SendAddressStatusError';
	const NM = 'InvalidParameterValue.TemplateNotMatchData';
	const TDE = 'InvalidParameterValue.TemplateDataError';
	pg.psql(`UPDATE receivers SET status = 2 WHERE id = ${ids.onlyBlocked}`);
	try {
		await rejects([
			[() => A.BatchSendEmail(without('FromEmailAddress')), SP, 'no sender'],
			[() => A.BatchSendEmail(without('ReceiverId')), SP, 'no list'],
			[() => A.BatchSendEmail(without('Template')), SP, 'no template'],
			[() => A.BatchSendEmail(batch({ Template: { TemplateData: '{}' } })), SP, 'no TemplateID'],
			[() => A.BatchSendEmail(without('Subject')), 'MissingParameter', 'no subject'],
			[() => A.BatchSendEmail(without('TaskType')), 'MissingParameter', 'no task type'],
			[() => A.BatchSendEmail(batch({ Simple: { Html: b64('<p>x</p>') } })), 'FailedOperation.WithOutPermission'],
			[() => A.BatchSendEmail({ ...without('Template'), Simple: { Text: b64('x') } }), 'FailedOperation.WithOutPermission'],
			[() => A.BatchSendEmail(batch({ Attachments: [{ FileName: 'a.txt', Content: b64('x') }] })), 'UnsupportedOperation'],
			[() => A.BatchSendEmail(batch({ Subject: '' })), 'InvalidParameterValue.SubjectLengthError'],
			[() => A.BatchSendEmail(batch({ Subject: '字'.repeat(101) })), 'InvalidParameterValue.SubjectLengthError'],
			[() => A.BatchSendEmail(batch({ Subject: 'a\r\nBcc: x@y.z' })), IPV, 'CRLF subject'],
			[() => A.BatchSendEmail(batch({ Unsubscribe: '13' })), IPV],
			[() => A.BatchSendEmail(batch({ Unsubscribe: '01' })), IPV],
			[() => A.BatchSendEmail(batch({ Unsubscribe: '' })), IPV],
			[() => A.BatchSendEmail(batch({ Unsubscribe: 2 })), 'InvalidParameter'],
			[() => A.BatchSendEmail(batch({ ADLocation: 3 })), IPV],
			[() => A.BatchSendEmail(batch({ ADLocation: -1 })), IPV],
			[() => A.BatchSendEmail(batch({ TaskType: 0 })), IPV],
			[() => A.BatchSendEmail(batch({ TaskType: 4 })), IPV],
			[() => A.BatchSendEmail(batch({ TaskType: 2 })), 'MissingParameter.TimedParamNecessary'],
			[() => A.BatchSendEmail(batch({ TaskType: 2, TimedParam: {} })), 'MissingParameter.TimedParamNecessary'],
			[() => A.BatchSendEmail(batch({ TaskType: 2, CycleParam: { BeginTime: shanghai(60), IntervalTime: 1 } })),
				'MissingParameter.TimedParamNecessary'],
			[() => A.BatchSendEmail(batch({ TaskType: 3 })), 'MissingParameter.CycleParamNecessary'],
			[() => A.BatchSendEmail(batch({ TaskType: 3, CycleParam: { BeginTime: shanghai(60) } })),
				'MissingParameter.CycleParamNecessary'],
			[() => A.BatchSendEmail(batch({ TaskType: 3, CycleParam: { IntervalTime: 5 } })),
				'MissingParameter.CycleParamNecessary'],
			[() => A.BatchSendEmail(batch({ TaskType: 2, TimedParam: { BeginTime: '2031-02-29 10:00:00' } })), IPV, 'no Feb 29'],
			[() => A.BatchSendEmail(batch({ TaskType: 2, TimedParam: { BeginTime: '2031-01-01T10:00:00' } })), IPV],
			[() => A.BatchSendEmail(batch({ TaskType: 2, TimedParam: { BeginTime: '2031-01-01 24:00:00' } })), IPV],
			[() => A.BatchSendEmail(batch({ TaskType: 2, TimedParam: { BeginTime: '2031-1-1 10:00:00' } })), IPV],
			[() => A.BatchSendEmail(batch({ TaskType: 2, TimedParam: { BeginTime: '' } })), IPV],
			[() => A.BatchSendEmail(batch({ TaskType: 2, TimedParam: { BeginTime: '2020-01-01 00:00:00' } })),
				'InvalidParameterValue.BeginTimeBeforeNow'],
			[() => A.BatchSendEmail(batch({ TaskType: 3, CycleParam: { BeginTime: shanghai(-300), IntervalTime: 1 } })),
				'InvalidParameterValue.BeginTimeBeforeNow'],
			[() => A.BatchSendEmail(batch({ TaskType: 3, CycleParam: { BeginTime: shanghai(60), IntervalTime: 0 } })), IPV],
			[() => A.BatchSendEmail(batch({ TaskType: 3, CycleParam: { BeginTime: shanghai(60), IntervalTime: 1, TermCycle: 2 } })), IPV],
			[() => A.BatchSendEmail(batch({ FromEmailAddress: 'not-an-address' })), SAS],
			[() => A.BatchSendEmail(batch({ FromEmailAddress: `Shop<${SENDER}>` })), SAS, 'no space'],
			[() => A.BatchSendEmail(batch({ FromEmailAddress: `Shop  <${SENDER}>` })), SAS, 'two spaces'],
			[() => A.BatchSendEmail(batch({ FromEmailAddress: `Sh\r\nop <${SENDER}>` })), SAS, 'CRLF'],
			[() => A.BatchSendEmail(batch({ FromEmailAddress: `Shop <${SENDER}` })), SAS],
			[() => A.BatchSendEmail(batch({ FromEmailAddress: 'nobody@mail.example.com' })), SAS, 'unregistered'],
			[() => A.BatchSendEmail(batch({ FromEmailAddress: 'x@pending.example.com' })), SAS, 'unverified domain'],
			[() => A.BatchSendEmail(batch({ FromEmailAddress: 'news@b.example.net' })), SAS, "B's address"],
			[() => A.BatchSendEmail(batch({ ReplyToAddresses: 'bad@' })), IPV],
			[() => A.BatchSendEmail(batch({ ReceiverId: 999999 })), 'OperationDenied.ReceiverNotExist'],
			[() => A.BatchSendEmail(batch({ ReceiverId: ids.empty })), 'OperationDenied.ReceiverStatusError'],
			[() => A.BatchSendEmail(batch({ ReceiverId: ids.onlyBlocked, Template: { TemplateID: ids.plain } })),
				'OperationDenied.ReceiverStatusError', 'uploading'],
			[() => A.BatchSendEmail(batch({ Template: { TemplateID: 999999 } })), 'OperationDenied.TemplateStatusError'],
			[() => A.BatchSendEmail(batch({ Template: { TemplateID: ids.pending } })), 'OperationDenied.TemplateStatusError'],
			[() => A.BatchSendEmail(batch({ Template: { TemplateID: ids.tpl, TemplateData: 'not json' } })), TDE],
			[() => A.BatchSendEmail(batch({ Template: { TemplateID: ids.tpl, TemplateData: '{"a":1}' } })), TDE],
			[() => A.BatchSendEmail(batch({ Template: { TemplateID: ids.tpl, TemplateData: '["a"]' } })), TDE],
			[() => A.BatchSendEmail(batch({ Template: { TemplateID: ids.tpl, TemplateData: '{"a":"1","a":"2"}' } })), TDE],
			/* list without data, no TemplateData: {{name}} and {{code}} have no value */
			[() => A.BatchSendEmail(batch({ ReceiverId: ids.nodata })), NM],
			[() => A.BatchSendEmail(batch({ ReceiverId: ids.nodata, Template: { TemplateID: ids.tpl, TemplateData: '{"name":"x"}' } })), NM],
			/* a Subject variable the list's data does not have */
			[() => A.BatchSendEmail(batch({ Subject: 'Hi {{nickname}}' })), NM],
		]);
	} finally {
		pg.psql(`UPDATE receivers SET status = 3 WHERE id = ${ids.onlyBlocked}`);
	}
	/* the NotMatch message names what is missing */
	const e = await expectCode(A.BatchSendEmail(batch({ Subject: 'Hi {{nickname}}' })), NM);
	assert.match(e.message, /nickname/);
});

test('BatchSendEmail: a change committed while the statement waits is seen, not slipped past', async () => {
	/* another session takes the list (as an upload does) and, later, the template; the
	 * BatchSendEmail issued meanwhile waits for the row lock and then re-checks the new row */
	for (const [sql, undo, code] of [
		[`UPDATE receivers SET status = 2 WHERE id = ${ids.list}`, `UPDATE receivers SET status = 3 WHERE id = ${ids.list}`,
			'OperationDenied.ReceiverStatusError'],
		[`UPDATE templates SET status = 2 WHERE id = ${ids.tpl}`, `UPDATE templates SET status = 0 WHERE id = ${ids.tpl}`,
			'OperationDenied.TemplateStatusError'],
		[`DELETE FROM receivers WHERE id = ${ids.nodata}`, null, 'OperationDenied.ReceiverNotExist'],
	]) {
		const before_ = counts();
		const other = pg.psqlAsync(`BEGIN; ${sql}; SELECT pg_sleep(1.5); COMMIT;`);
		await new Promise((r) => setTimeout(r, 500));
		const t0 = Date.now();
		await expectCode(A.BatchSendEmail(batch({ ReceiverId: sql.includes('DELETE') ? ids.nodata : ids.list,
			Template: { TemplateID: ids.tpl, TemplateData: '{"name":"x","code":"y"}' } })), code);
		assert.ok(Date.now() - t0 > 500, 'the statement did not wait for the row lock');
		await other;
		assert.equal(counts(), before_);
		if (undo)
			pg.psql(undo);
	}
});

test('BatchSendEmail: account isolation', async () => {
	const mine = { FromEmailAddress: 'news@b.example.net', ReceiverId: ids.listB, Subject: 'x',
		TaskType: 1, Template: { TemplateID: ids.tplB } };
	await rejects([
		[() => B.BatchSendEmail({ ...mine, FromEmailAddress: SENDER }), 'OperationDenied.SendAddressStatusError'],
		[() => B.BatchSendEmail({ ...mine, ReceiverId: ids.list }), 'OperationDenied.ReceiverNotExist'],
		[() => B.BatchSendEmail({ ...mine, Template: { TemplateID: ids.tpl } }), 'OperationDenied.TemplateStatusError'],
	]);
	const r = await B.BatchSendEmail(mine);
	/* B's own suppression of ann does not touch A; B's zed is queued under B's account */
	assert.equal(pg.psql(`SELECT string_agg(app_id || ':' || email || ':' || state, ',') FROM deliveries
		WHERE task_id = ${r.TaskId}`), '1000002:zed@example.org:queued');
});

function single(extra = {}) {
	return {
		FromEmailAddress: SENDER,
		Destination: ['to1@example.org'],
		Subject: 'Your code {{code}}',
		Template: { TemplateID: ids.tpl, TemplateData: '{"name":"Ann","code":"42"}' },
		...extra,
	};
}

test('SendEmail: one message, one delivery per distinct recipient', async () => {
	const r = await A.SendEmail(single({
		FromEmailAddress: 'Shop <noreply@mail.example.com>',
		Destination: ['to1@example.org', 'to2@example.org'],
		Cc: ['cc1@example.org', 'TO1@example.org'],
		Bcc: ['bcc1@example.org'],
		ReplyToAddresses: 'help@mail.example.com',
		Unsubscribe: '0',
		TriggerType: 1,
		SmtpHeaders: '{"X-Campaign":"spring","In-Reply-To":"<a@b.c>"}',
		HeaderFrom: 'News <news@MAIL.example.com>',
	}));
	assert.deepEqual(Object.keys(r).sort(), ['MessageId', 'RequestId']);
	const m = /^(\d+)\.([0-9a-f]{12})@mail\.example\.com$/.exec(r.MessageId);
	assert.ok(m, r.MessageId);
	const t = m[1];
	const [task] = rows(`SELECT kind, task_type, status, request_count, array_to_string(destinations, ','),
		array_to_string(cc, ','), array_to_string(bcc, ','), reply_to, unsubscribe, trigger_type, smtp_headers,
		header_from, header_from_addr, header_from_name, sender_name, template_data, msgid_key,
		coalesce(receiver_id::text, 'NULL') FROM send_tasks WHERE id = ${t}`);
	assert.deepEqual(task, ['single', '1', '5', '4', 'to1@example.org,to2@example.org',
		'cc1@example.org,TO1@example.org', 'bcc1@example.org', 'help@mail.example.com', '0', '1',
		'{"X-Campaign":"spring","In-Reply-To":"<a@b.c>"}', 'News <news@MAIL.example.com>',
		'news@MAIL.example.com', 'News', 'Shop', '{"name":"Ann","code":"42"}', m[2], 'NULL']);
	assert.equal(pg.psql(`SELECT run_no || ',' || recipients FROM task_runs WHERE task_id = ${t}`), '1,4');
	assert.equal(pg.psql(`SELECT string_agg(email || ':' || state || ':' || (message_id = '${r.MessageId}'), ',' ORDER BY id)
		FROM deliveries WHERE task_id = ${t}`),
	'to1@example.org:queued:true,to2@example.org:queued:true,cc1@example.org:queued:true,bcc1@example.org:queued:true');

	/* SmtpMessageId replaces the Message-ID; only Cc or only Bcc is enough; an unsubscribe
	 * for another sender domain and an expired custom entry do not block */
	const r2 = await A.SendEmail(single({ Destination: undefined, Bcc: ['dora@example.org'], Cc: ['fred@example.org'],
		SmtpMessageId: '<2SNZPF1T2NU4.5OB8TNNRVRYM3@qcloudmail.com>' }));
	assert.equal(r2.MessageId, '2SNZPF1T2NU4.5OB8TNNRVRYM3@qcloudmail.com');
	assert.equal(pg.psql(`SELECT count(*) || ',' || min(message_id) FROM deliveries WHERE message_id = '${r2.MessageId}'`),
		`2,${r2.MessageId}`);
	const r3 = await A.SendEmail(single({ Template: { TemplateID: ids.plain }, Subject: 'Plain', SmtpHeaders: '' }));
	assert.match(r3.MessageId, /@mail\.example\.com$/);
});

test('SendEmail: every validation error, and a rejected request creates nothing', async () => {
	const IPV = 'InvalidParameterValue';
	const many = (n, p) => Array.from({ length: n }, (_, i) => `${p}${i}@example.org`);
	const hdr = (h) => single({ SmtpHeaders: JSON.stringify(h) });
	await rejects([
		[() => A.SendEmail(single({ Destination: undefined })), 'MissingParameter'],
		[() => A.SendEmail(single({ Destination: [], Cc: [] })), 'MissingParameter'],
		[() => A.SendEmail({ Destination: ['a@example.org'], Subject: 'x', Template: { TemplateID: ids.plain } }), 'MissingParameter'],
		[() => A.SendEmail(single({ Subject: undefined })), 'MissingParameter'],
		[() => A.SendEmail(single({ Destination: many(51, 't') })), 'FailedOperation.TooManyRecipients'],
		[() => A.SendEmail(single({ Cc: many(21, 'c') })), 'FailedOperation.TooManyRecipients'],
		[() => A.SendEmail(single({ Bcc: many(21, 'b') })), 'FailedOperation.TooManyRecipients'],
		[() => A.SendEmail(single({ Destination: ['a@example.org', ''] })), 'InvalidParameterValue.EmailAddressIsNULL'],
		[() => A.SendEmail(single({ Cc: ['bad@'] })), 'FailedOperation.IncorrectEmail'],
		[() => A.SendEmail(single({ Destination: ['Name <a@example.org>'] })), 'FailedOperation.IncorrectEmail'],
		[() => A.SendEmail(single({ Bcc: ['TO1@example.org'] })), IPV, 'Bcc repeats To'],
		[() => A.SendEmail(single({ Template: undefined })), 'FailedOperation.MissingEmailContent'],
		[() => A.SendEmail(single({ Simple: { Html: b64('<p>x</p>') } })), 'FailedOperation.WithOutPermission'],
		[() => A.SendEmail(single({ Attachments: [{ FileName: 'a.txt', Content: b64('x') }] })),
			'FailedOperation.NoAttachPermission'],
		[() => A.SendEmail(single({ Template: { TemplateID: 999999 } })), 'FailedOperation.InvalidTemplateID'],
		[() => A.SendEmail(single({ Template: { TemplateID: ids.pending } })), 'FailedOperation.InvalidTemplateID'],
		[() => A.SendEmail(single({ Template: { TemplateID: ids.tplB, TemplateData: '{"name":"x"}' }, Subject: 'x' })),
			'FailedOperation.InvalidTemplateID', "B's template"],
		[() => A.SendEmail(single({ Template: { TemplateID: ids.tpl, TemplateData: '{name:1}' } })), 'FailedOperation.WrongContentJson'],
		[() => A.SendEmail(single({ Template: { TemplateID: ids.tpl, TemplateData: '{"name":"x"}' } })),
			'FailedOperation.WrongContentJson', 'code missing'],
		[() => A.SendEmail(single({ Subject: 'Hi {{nickname}}' })), 'FailedOperation.WrongContentJson', 'subject var'],
		[() => A.SendEmail(single({ FromEmailAddress: 'nope' })), 'FailedOperation.IncorrectSender'],
		[() => A.SendEmail(single({ FromEmailAddress: `Shop: Sale <${SENDER}>` })), 'FailedOperation.IncorrectSender'],
		[() => A.SendEmail(single({ FromEmailAddress: `Shop\n <${SENDER}>` })), 'FailedOperation.IncorrectSender'],
		[() => A.SendEmail(single({ FromEmailAddress: 'nobody@mail.example.com' })), 'FailedOperation.NotAuthenticatedSender'],
		[() => A.SendEmail(single({ FromEmailAddress: 'x@pending.example.com' })), 'FailedOperation.NotAuthenticatedSender'],
		[() => A.SendEmail(single({ HeaderFrom: 'News <news@other.example.com>' })), 'FailedOperation.IncorrectSender'],
		[() => A.SendEmail(single({ HeaderFrom: 'News<news@mail.example.com>' })), 'FailedOperation.IncorrectSender'],
		[() => A.SendEmail(single({ ReplyToAddresses: 'x@@y' })), 'FailedOperation.IncorrectEmail'],
		[() => A.SendEmail(single({ Unsubscribe: '99' })), IPV],
		[() => A.SendEmail(single({ TriggerType: 2 })), IPV],
		[() => A.SendEmail(single({ Subject: '' })), IPV],
		[() => A.SendEmail(single({ Subject: 'x\ny' })), IPV],
		[() => A.SendEmail(single({ SmtpMessageId: 'no-at-sign' })), IPV],
		[() => A.SendEmail(single({ SmtpMessageId: '<a..b@c>' })), IPV],
		[() => A.SendEmail(single({ SmtpHeaders: 'not json' })), IPV],
		[() => A.SendEmail(hdr({ From: 'x@y.z' })), IPV, 'reserved From'],
		[() => A.SendEmail(hdr({ 'message-id': '<a@b>' })), IPV, 'reserved Message-ID'],
		[() => A.SendEmail(hdr({ 'Content-Type': 'text/plain' })), IPV, 'reserved Content-*'],
		[() => A.SendEmail(hdr({ 'X-A': 'a\r\nBcc: evil@example.org' })), IPV, 'CRLF value'],
		[() => A.SendEmail(hdr({ 'X-A': 'é' })), IPV, 'non-ASCII value'],
		[() => A.SendEmail(hdr({ 'Bad Name': 'x' })), IPV, 'space in name'],
		[() => A.SendEmail(hdr({ 'X-A': '' })), IPV, 'empty value'],
		[() => A.SendEmail(single({ SmtpHeaders: '{"X-A":"1","x-a":"2"}' })), IPV, 'repeated name'],
		[() => A.SendEmail(single({ SmtpHeaders: '{"X-A":5}' })), IPV, 'number value'],
		/* suppressions for the sender domain */
		[() => A.SendEmail(single({ Destination: ['BOB@example.org'] })), 'FailedOperation.EmailAddrInBlacklist', 'custom'],
		[() => A.SendEmail(single({ Cc: ['eve@example.org'] })), 'FailedOperation.EmailAddrInBlacklist', 'bounce'],
		[() => A.SendEmail(single({ Destination: ['carl@example.org'] })), 'FailedOperation.ReceiverHasUnsubscribed'],
		[() => A.SendEmail(single({ Bcc: ['carl@example.org'] })), 'FailedOperation.ReceiverHasUnsubscribed'],
		/* account B: A's sender and A's suppression-free addresses */
		[() => B.SendEmail(single()), 'FailedOperation.NotAuthenticatedSender', "B with A's sender"],
		[() => B.SendEmail(single({ FromEmailAddress: 'news@b.example.net', Destination: ['ann@example.org'],
			Template: { TemplateID: ids.tplB, TemplateData: '{"name":"x"}' }, Subject: 'x' })),
		'FailedOperation.EmailAddrInBlacklist', "B's own blacklist"],
	]);
	const e = await expectCode(A.SendEmail(single({ Destination: ['ok@example.org', 'carl@example.org'] })),
		'FailedOperation.ReceiverHasUnsubscribed');
	assert.match(e.message, /carl@example\.org/);
	/* B may mail bob, whom only A blacklisted */
	const r = await B.SendEmail(single({ FromEmailAddress: 'news@b.example.net', Destination: ['bob@example.org'],
		Template: { TemplateID: ids.tplB, TemplateData: '{"name":"x"}' }, Subject: 'x' }));
	assert.match(r.MessageId, /@b\.example\.net$/);
});

test('BatchSendEmail accepts a 50,000-recipient list quickly', async (t) => {
	const N = 50000;
	const name = 'big';
	const r = await A.CreateReceiver({ ReceiversName: name });
	for (let off = 0; off < N; off += 20000) {
		const Datas = [];
		for (let i = off; i < Math.min(N, off + 20000); i++)
			Datas.push({ Email: `user${i}@big.example.org`, TemplateData: `{"name":"User ${i}","code":"${i}"}` });
		await A.CreateReceiverDetailWithData({ ReceiverId: r.ReceiverId, Datas });
	}
	/* a few suppressed among them */
	await A.CreateCustomBlacklist({ Emails: ['user7@big.example.org', 'user49999@big.example.org'] });
	pg.psql('ANALYZE');
	const t0 = process.hrtime.bigint();
	const task = await A.BatchSendEmail(batch({ ReceiverId: r.ReceiverId }));
	const ms = Number(process.hrtime.bigint() - t0) / 1e6;
	t.diagnostic(`BatchSendEmail of ${N} recipients accepted in ${ms.toFixed(0)} ms`);
	assert.equal(pg.psql(`SELECT count(*) || ',' || count(*) FILTER (WHERE state = 'suppressed') || ',' ||
		count(DISTINCT message_id) FROM deliveries WHERE task_id = ${task.TaskId}`), `${N},2,${N}`);
	assert.equal(pg.psql(`SELECT request_count || ',' || status FROM send_tasks WHERE id = ${task.TaskId}`), `${N},5`);
	assert.equal(pg.psql(`SELECT template_data FROM deliveries WHERE task_id = ${task.TaskId} AND email = 'user123@big.example.org'`),
		'{"name":"User 123","code":"123"}');
	/* generous bound: a sanitizer build on a busy machine is several times slower */
	assert.ok(ms < 15000, `took ${ms} ms`);
});
