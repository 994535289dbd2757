'use strict';
/*
 * Delivery faults end to end (official SDK, real PostgreSQL, real relays):
 *   - per-recipient replies from tests/tools/test_sink.py: ok1 sent once, hard1 bounced (550
 *     visible in GetSendEmailStatus and ops_delivery_failures, a 'bounce' suppression),
 *     soft1 deferred (451 visible) and sent once smtp-sink replaces test_sink.py on the same
 *     port; the task reaches status 10;
 *   - relay down (connection refused): deliveries deferred, task 5; once smtp-sink listens on
 *     that port every recipient is sent once within the backoff, task 10;
 *   - unsubscribe: the List-Unsubscribe URL of a delivered message, GET (no suppression), POST
 *     one-click (one 'unsubscribe' suppression), the next task to the list suppresses that
 *     recipient (never relayed; SendStatus 1013, UserUnsubscribed);
 *   - two sesd on one database, 10,000 recipients: each delivered exactly once, all 'sent',
 *     both nodes did part of the work.
 * Every test has its own PostgreSQL cluster; [smtp] retry_base is 1s.
 */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startPg, startSink, startFaultSink, startSesd, sdkClient, freePort, listeningOn, waitFor } = require('./lib/stack');

const SENDER = 'news@mail.example.com';
const ZONE = 'Asia/Shanghai';
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function smtpConf(port, extra = {}) {
	return {
		api: { rate_limit: 0 },
		smtp: { relay_host: '127.0.0.1', relay_port: port, starttls: 'none', retry_base: '1s',
			max_retry_age: '24h', command_timeout: 30, ...extra },
	};
}

function rows(pg, sql) {
	const out = pg.psql(sql);
	return out === '' ? [] : out.split('\n').map((l) => l.split('|'));
}


/* sender identity, address and a template; returns the template id */
async function setup(A) {
	await A.CreateEmailIdentity({ EmailIdentity: 'mail.example.com' });
	await A.CreateEmailAddress({ EmailAddress: SENDER, EmailSenderName: 'Shop' });
	return (await A.CreateEmailTemplate({ TemplateName: 'faults', TemplateContent: {
		Html: b64('<html><body><p>Hello {{name}}</p></body></html>'), Text: b64('Hello {{name}}\n') } })).TemplateID;
}

async function newList(A, name, emails) {
	const r = await A.CreateReceiver({ ReceiversName: name });
	for (let i = 0; i < emails.length; i += 5000)
		await A.CreateReceiverDetailWithData({ ReceiverId: r.ReceiverId,
			Datas: emails.slice(i, i + 5000).map((e) => ({ Email: e, TemplateData: '{"name":"X"}' })) });
	return r.ReceiverId;
}

function send(A, list, tpl, extra = {}) {
	return A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: list, Subject: 'Hi {{name}}', TaskType: 1,
		Template: { TemplateID: tpl }, ...extra });
}

const taskStatus = (pg, task) => pg.psql(`SELECT status FROM send_tasks WHERE id = ${task}`);
const deliveries = (pg, task) => rows(pg, `SELECT email, state, attempts, coalesce(smtp_code, 0), coalesce(smtp_reply, '')
	FROM deliveries WHERE task_id = ${task} ORDER BY email`);
const today = (pg) => pg.psql(`SELECT to_char((now() AT TIME ZONE '${ZONE}')::date, 'YYYY-MM-DD')`);

function httpRequest(method, url, body) {
	const u = new URL(url);
	return new Promise((resolve, reject) => {
		const req = http.request({ host: u.hostname, port: u.port, method, path: u.pathname + u.search, agent: false,
			headers: body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded',
				'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
		});
		req.setTimeout(15000, () => req.destroy(new Error(`${method} ${url}: timeout`)));
		req.on('error', reject);
		if (body !== undefined)
			req.write(body);
		req.end();
	});
}

test('per-recipient faults: ok sent once, 550 bounced + suppressed, 451 deferred then sent', { timeout: 240000 }, async () => {
	const pg = await startPg();
	let fault;
	let sink;
	let sesd;
	try {
		fault = await startFaultSink();
		const port = fault.port;
		sesd = await startSesd({ pg, conf: smtpConf(port, { workers: 2 }) });
		const A = sdkClient(sesd, 0);
		const tpl = await setup(A);
		const list = await newList(A, 'faults', ['ok1@example.org', 'soft1@example.org', 'hard1@example.org']);
		const r = await send(A, list, tpl);
		const dump = () => JSON.stringify(deliveries(pg, r.TaskId));

		await waitFor('ok1 sent, hard1 bounced, soft1 deferred with 451', () => {
			const d = Object.fromEntries(deliveries(pg, r.TaskId).map((x) => [x[0], x]));
			return d['ok1@example.org'][1] === 'sent' && d['hard1@example.org'][1] === 'bounced'
				&& d['soft1@example.org'][1] === 'deferred' && /^451 /.test(d['soft1@example.org'][4]);
		}, 60000, dump);
		const [hard] = rows(pg, `SELECT smtp_code, smtp_reply, attempts FROM deliveries
			WHERE task_id = ${r.TaskId} AND email = 'hard1@example.org'`);
		assert.equal(hard[0], '550');
		assert.match(hard[1], /^550 5\.1\.1 No such user \(test\)/);
		assert.equal(hard[2], '1', 'a hard bounce is not retried');
		assert.equal(taskStatus(pg, r.TaskId), '5', 'soft1 is still open');

		/* the sink accepted ok1 exactly once, and nothing else */
		assert.deepEqual(fault.accepted(), ['ok1@example.org']);

		/* a 'bounce' suppression for hard1, for the sender domain; none for the others */
		assert.deepEqual(rows(pg, `SELECT lower(email), reason, domain FROM suppressions ORDER BY 1`),
			[['hard1@example.org', 'bounce', 'mail.example.com']]);

		/* the ops view: hard1 bounced with its 550, soft1 deferred with its 451 (soft1 may be
		 * in a retry right now: poll) */
		await waitFor('ops_delivery_failures shows the 550 and the 451', () => {
			const v = rows(pg, `SELECT email, state, smtp_code, smtp_reply FROM ops_delivery_failures
				WHERE task_id = ${r.TaskId} ORDER BY email`);
			return v.length === 2 && v[0][0] === 'hard1@example.org' && v[0][1] === 'bounced' && v[0][2] === '550'
				&& /^550 5\.1\.1/.test(v[0][3]) && v[1][0] === 'soft1@example.org' && v[1][1] === 'deferred'
				&& v[1][2] === '451' && /^451 4\.3\.0/.test(v[1][3]);
		}, 30000, dump);

		/* GetSendEmailStatus: bounced = DeliverStatus 3 with the 550 text, deferred = 8 with the 451 */
		const date = today(pg);
		let last;
		await waitFor('GetSendEmailStatus shows 550 and 451', async () => {
			const st = (await A.GetSendEmailStatus({ RequestDate: date, Offset: 0, Limit: 100 })).EmailStatusList;
			last = st;
			const by = Object.fromEntries(st.map((s) => [s.ToEmailAddress, s]));
			const h = by['hard1@example.org'];
			const s = by['soft1@example.org'];
			const o = by['ok1@example.org'];
			return st.length === 3 && h.DeliverStatus === 3 && h.DeliverMessage.includes('550')
				&& s.DeliverStatus === 8 && s.DeliverMessage.includes('451')
				&& o.DeliverStatus === 1 && o.SendStatus === 0;
		}, 30000, () => JSON.stringify(last));

		/* the relay now accepts soft*: smtp-sink on the same port */
		const acceptedByFault = fault.accepted();
		await fault.stop();
		assert.equal(listeningOn(port), 0, `port ${port} still has a listener`);
		sink = await startSink({ port });
		await waitFor('soft1 sent', () => pg.psql(`SELECT state FROM deliveries WHERE task_id = ${r.TaskId}
			AND email = 'soft1@example.org'`) === 'sent', 90000, dump);
		assert.ok(Number(pg.psql(`SELECT attempts FROM deliveries WHERE task_id = ${r.TaskId}
			AND email = 'soft1@example.org'`)) >= 2);
		await waitFor('task status 10', () => taskStatus(pg, r.TaskId) === '10', 30000, dump);
		await sleep(300);
		assert.deepEqual(sink.copies(), { 'soft1@example.org': 1 });
		assert.deepEqual(acceptedByFault, ['ok1@example.org'], 'test_sink.py accepted ok1 once, nothing else');
		assert.deepEqual(deliveries(pg, r.TaskId).map((x) => [x[0], x[1]]), [
			['hard1@example.org', 'bounced'], ['ok1@example.org', 'sent'], ['soft1@example.org', 'sent']]);
		const st = (await A.GetSendEmailStatus({ RequestDate: date, Offset: 0, Limit: 100,
			ToEmailAddress: 'soft1@example.org' })).EmailStatusList;
		assert.equal(st.length, 1);
		assert.equal(st[0].DeliverStatus, 1);
	} finally {
		if (sesd)
			await sesd.stop();
		if (sink)
			await sink.stop();
		if (fault)
			await fault.stop();
		await pg.stop();
	}
});

test('relay down: deferred (connection refused), then sent once the relay listens', { timeout: 240000 }, async () => {
	const pg = await startPg();
	let sink;
	let sesd;
	try {
		const port = await freePort(); /* nobody listens here */
		sesd = await startSesd({ pg, conf: smtpConf(port, { workers: 2 }) });
		const A = sdkClient(sesd, 0);
		const tpl = await setup(A);
		const emails = ['d1@example.org', 'd2@example.org', 'd3@example.org'];
		const list = await newList(A, 'down', emails);
		const r = await send(A, list, tpl);
		const dump = () => JSON.stringify(deliveries(pg, r.TaskId));
		/* every delivery deferred and retried at least once */
		await waitFor('all deferred, attempts >= 2', () => {
			const d = deliveries(pg, r.TaskId);
			return d.length === 3 && d.every((x) => x[1] === 'deferred' && Number(x[2]) >= 2);
		}, 60000, dump);
		for (const x of deliveries(pg, r.TaskId))
			assert.match(x[4], /refused|connect/i, `the reply tells why: ${x}`);
		assert.equal(taskStatus(pg, r.TaskId), '5');
		assert.equal(pg.psql(`SELECT count(*) FROM ops_delivery_failures WHERE task_id = ${r.TaskId}
			AND state = 'deferred'`), '3');

		sink = await startSink({ port });
		const started = Date.now();
		/* the next attempt comes at most retry_base * 2^(attempts - 1) after the last one */
		const k = Number(pg.psql(`SELECT max(attempts) FROM deliveries WHERE task_id = ${r.TaskId}`));
		const bound = 1000 * 2 ** k + 20000;
		await waitFor('all sent', () => pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${r.TaskId}
			AND state = 'sent'`) === '3', bound, dump);
		await waitFor('task status 10', () => taskStatus(pg, r.TaskId) === '10', 30000, dump);
		assert.ok(Date.now() - started < bound);
		await sleep(300);
		assert.deepEqual(sink.copies(), Object.fromEntries(emails.map((e) => [e, 1])));
	} finally {
		if (sesd)
			await sesd.stop();
		if (sink)
			await sink.stop();
		await pg.stop();
	}
});

test('unsubscribe end to end: List-Unsubscribe URL, GET, one-click POST, next task suppressed', { timeout: 240000 }, async () => {
	const pg = await startPg();
	let sink;
	let sesd;
	try {
		sink = await startSink();
		const webPort = await freePort();
		sesd = await startSesd({ pg, webPort,
			conf: { ...smtpConf(sink.port), content: { public_url: `http://127.0.0.1:${webPort}` } } });
		const A = sdkClient(sesd, 0);
		const tpl = await setup(A);
		const list = await newList(A, 'unsub', ['ua@example.org', 'ub@example.org']);
		const r1 = await send(A, list, tpl, { Unsubscribe: '1' });
		const msgs = await sink.waitForMessages(2, 60000);
		await waitFor('task 1 status 10', () => taskStatus(pg, r1.TaskId) === '10', 30000);
		const ua = msgs.find((m) => m.rcpts[0] === 'ua@example.org');
		assert.ok(ua, 'no message for ua');
		const head = ua.message.replace(/\r\n/g, '\n').split('\n\n')[0].replace(/\n[ \t]+/g, ' ');
		const lu = /^List-Unsubscribe: <(http:\/\/[^>]+)>/im.exec(head);
		assert.ok(lu, `no List-Unsubscribe URL in\n${head}`);
		const url = lu[1];
		assert.ok(url.startsWith(`http://127.0.0.1:${webPort}/unsubscribe?t=`), url);
		assert.match(head, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/im);

		const count = () => pg.psql(`SELECT count(*) FROM suppressions WHERE reason = 'unsubscribe'`);
		const g = await httpRequest('GET', url);
		assert.equal(g.status, 200, g.body);
		assert.equal(count(), '0', 'a GET must not unsubscribe');
		const p = await httpRequest('POST', url, 'List-Unsubscribe=One-Click');
		assert.equal(p.status, 200, p.body);
		assert.deepEqual(rows(pg, `SELECT lower(email), reason, domain FROM suppressions`),
			[['ua@example.org', 'unsubscribe', 'mail.example.com']]);

		const r2 = await send(A, list, tpl, { Unsubscribe: '1' });
		await waitFor('task 2 status 10', () => taskStatus(pg, r2.TaskId) === '10', 60000,
			() => JSON.stringify(deliveries(pg, r2.TaskId)));
		assert.deepEqual(deliveries(pg, r2.TaskId).map((x) => [x[0], x[1]]),
			[['ua@example.org', 'suppressed'], ['ub@example.org', 'sent']]);
		await sleep(500);
		assert.deepEqual(sink.copies(), { 'ua@example.org': 1, 'ub@example.org': 2 });

		const mid = pg.psql(`SELECT message_id FROM deliveries WHERE task_id = ${r2.TaskId} AND email = 'ua@example.org'`);
		const st = (await A.GetSendEmailStatus({ RequestDate: today(pg), Offset: 0, Limit: 100,
			ToEmailAddress: 'ua@example.org' })).EmailStatusList;
		const rec = st.find((s) => s.MessageId === mid);
		assert.ok(rec, `no status record for ${mid}: ${JSON.stringify(st)}`);
		assert.equal(rec.SendStatus, 1013);
		assert.equal(rec.UserUnsubscribed, true);
		assert.equal(rec.DeliverTime, 0);
	} finally {
		if (sesd)
			await sesd.stop();
		if (sink)
			await sink.stop();
		await pg.stop();
	}
});

test('two sesd on one database deliver 10,000 recipients, each exactly once', { timeout: 600000 }, async () => {
	const N = 10000;
	const pg = await startPg();
	let sink;
	let s1;
	let s2;
	try {
		sink = await startSink();
		const conf = { ...smtpConf(sink.port, { workers: 2, messages_per_session: 50 }), sesd: { log_level: 'debug' } };
		s1 = await startSesd({ pg, conf });
		s2 = await startSesd({ pg, conf, migrate: false });
		const A = sdkClient(s1, 0);
		const tpl = await setup(A);
		const emails = Array.from({ length: N }, (_, i) => `n${i}@example.org`);
		const list = await newList(A, 'ten thousand', emails);
		const r = await send(A, list, tpl);
		const progress = () => JSON.stringify(rows(pg, `SELECT state, count(*) FROM deliveries
			WHERE task_id = ${r.TaskId} GROUP BY 1 ORDER BY 1`));
		await waitFor('task status 10', () => taskStatus(pg, r.TaskId) === '10', 480000, progress);
		await sleep(500);
		assert.equal(pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${r.TaskId}`), String(N));
		assert.equal(progress(), JSON.stringify([['sent', String(N)]]));
		const count = sink.copies();
		assert.equal(Object.keys(count).length, N, 'distinct recipients at the sink');
		const dup = Object.entries(count).filter(([, n]) => n !== 1);
		assert.deepEqual(dup, [], 'recipients delivered more than once');
		for (const e of emails)
			assert.equal(count[e], 1, e);
		/* both nodes sent part of it: the recipients of their dispatcher's batches */
		const re = new RegExp(`batch \\d+ of task ${r.TaskId} \\((\\d+) recipients\\)`, 'g');
		const share = [s1, s2].map((s) => [...s.log().matchAll(re)].reduce((a, m) => a + Number(m[1]), 0));
		assert.ok(share[0] > 0 && share[1] > 0, `both nodes did part of the work: ${share}`);
		assert.equal(share[0] + share[1], N, `every recipient was handed to a worker once: ${share}`);
	} finally {
		if (s2)
			await s2.stop();
		if (s1)
			await s1.stop();
		if (sink)
			await sink.stop();
		await pg.stop();
	}
});
