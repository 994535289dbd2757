'use strict';
/*
 * The delivery pipeline (dispatcher, worker pool, relay) end to end: BatchSendEmail through the
 * official SDK, real PostgreSQL, postfix smtp-sink dumping every message to a file.
 *   - content: recipient, substituted values (HTML-escaped in the html part), the ad marker
 *     before (ADLocation 1) and after (2) the subject, the unsubscribe footer in the requested
 *     language in both parts with a link carrying &l=, List-Unsubscribe(-Post), a DKIM
 *     signature that python3-dkim verifies with GetEmailIdentity's public key; deliveries sent
 *     with the relay's code, task status 5 -> 10;
 *   - a missing variable (per-recipient) fails that recipient only, with a clear reason;
 *   - a worker SIGKILLed mid-batch is replaced, its batch retried: every recipient sent, the
 *     killed batch's at most twice, every other exactly once (the next batch, claimed while
 *     the worker was busy, among them); a next batch that waited out half its lease behind a
 *     slow session goes back to the queue and is sent once;
 *   - two sesd on one database share a 10,000-recipient task: each recipient exactly once, and
 *     both nodes did part of it; every claim a heap-only update, no lease left behind;
 *   - outcomes: 5xx to RCPT bounced, 4xx deferred by [smtp] retry_base, failed once
 *     max_retry_age has passed; task status 10 when nothing is open;
 *   - SendEmail: every recipient its own transaction, one Message-ID (the MessageId returned);
 *     one message: To: every Destination, Cc: the Cc, never a Bcc, SmtpHeaders added, DKIM valid;
 *   - an expired lease (a dead node) goes back to the queue and another node sends it;
 *     [smtp] workers = 0 delivers nothing;
 *   - SIGTERM mid-batch: the session finishes and its results are written before exit;
 *   - a job over the 64 KiB IPC frame (a 200 KB template) travels as a memfd, batch whole.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { startPg, startSink, startSesd, sdkClient, waitFor } = require('./lib/stack');

const PYTHON = '/usr/bin/python3';
const SENDER = 'news@mail.example.com';
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let pg;
const ids = {};

function smtpConf(sink, extra = {}) {
	return {
		api: { rate_limit: 0 },
		smtp: { relay_host: '127.0.0.1', relay_port: sink.port, starttls: 'none', retry_base: '1s',
			command_timeout: 30, ...extra },
	};
}

function rows(sql) {
	const out = pg.psql(sql);
	return out === '' ? [] : out.split('\n').map((l) => l.split('|'));
}


/* header block and body of a message (CRLF or LF) */
function splitMsg(m) {
	const t = m.replace(/\r\n/g, '\n');
	const i = t.indexOf('\n\n');
	return { head: t.slice(0, i), body: t.slice(i + 2) };
}

function header(head, name) {
	const unfolded = head.replace(/\n[ \t]+/g, ' ');
	const re = new RegExp(`^${name}: (.*)$`, 'im');
	const m = re.exec(unfolded);
	return m ? m[1] : null;
}

function decodeWords(v) {
	return v.replace(/=\?UTF-8\?B\?([^?]*)\?=\s*/gi, (_, b) => Buffer.from(b, 'base64').toString('utf8')).trim();
}

function decodePart(head, body) {
	const cte = (header(head, 'Content-Transfer-Encoding') || '').toLowerCase();
	if (cte === 'base64')
		return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8').replace(/\r\n/g, '\n');
	if (cte === 'quoted-printable') {
		const soft = body.replace(/=\n/g, '');
		return Buffer.from(soft.replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))),
			'latin1').toString('utf8').replace(/\r\n/g, '\n');
	}
	return body;
}

/* { head, text, html } of a multipart/alternative message */
function parts(message) {
	const { head, body } = splitMsg(message);
	const ct = header(head, 'Content-Type');
	const bm = /boundary="?([^";]+)"?/.exec(ct);
	const out = { head };
	assert.ok(bm, `multipart expected: ${ct}`);
	for (const chunk of body.split(`--${bm[1]}`).slice(1)) {
		if (chunk.startsWith('--'))
			break;
		const p = splitMsg(chunk.replace(/^\n/, ''));
		const pct = header(p.head, 'Content-Type') || '';
		const dec = decodePart(p.head, p.body);
		if (/text\/html/i.test(pct))
			out.html = dec;
		else if (/text\/plain/i.test(pct))
			out.text = dec;
	}
	return out;
}

function dkimVerify(raw, pub) {
	const py = 'import dkim,sys,base64\n'
		+ 'msg=base64.b64decode(sys.stdin.read())\n'
		+ `print(dkim.verify(msg, dnsfunc=lambda n, timeout=5: b"v=DKIM1; k=rsa; p=${pub}"))\n`;
	return execFileSync(PYTHON, ['-c', py], { input: Buffer.from(raw.replace(/\r?\n/g, '\r\n')).toString('base64') })
		.toString().trim();
}

async function newList(client, name, datas) {
	const r = await client.CreateReceiver({ ReceiversName: name });
	for (let i = 0; i < datas.length; i += 5000) {
		const chunk = datas.slice(i, i + 5000);
		if (typeof chunk[0] === 'string')
			await client.CreateReceiverDetail({ ReceiverId: r.ReceiverId, Emails: chunk });
		else
			await client.CreateReceiverDetailWithData({ ReceiverId: r.ReceiverId, Datas: chunk });
	}
	return r.ReceiverId;
}

/* A TaskType 1 BatchSendEmail with the test template to a new list of n recipients,
 * `${prefix}0@example.org` and on: { emails, r } */
async function batchTo(client, prefix, n) {
	const emails = Array.from({ length: n }, (_, i) => `${prefix}${i}@example.org`);
	const list = await newList(client, `batch ${prefix}`,
		emails.map((e) => ({ Email: e, TemplateData: `{"name":"${prefix}","code":"0"}` })));
	const r = await client.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: list, Subject: `${prefix} {{name}}`,
		TaskType: 1, Template: { TemplateID: ids.tpl } });
	return { emails, r };
}

before(async () => {
	pg = await startPg();
});

after(async () => {
	if (pg)
		await pg.stop();
});

test('content: substitution, ad marker, footer, List-Unsubscribe, DKIM, status 5 -> 10', async () => {
	const sink = await startSink();
	const sesd = await startSesd({ pg, conf: smtpConf(sink) });
	try {
		const A = sdkClient(sesd, 0);
		await A.CreateEmailIdentity({ EmailIdentity: 'mail.example.com' });
		await A.CreateEmailAddress({ EmailAddress: SENDER, EmailSenderName: 'Shop' });
		const g = await A.GetEmailIdentity({ EmailIdentity: 'mail.example.com' });
		const pub = /p=([A-Za-z0-9+/=]+)/.exec(g.Attributes[1].ExpectedValue)[1];
		ids.tpl = (await A.CreateEmailTemplate({ TemplateName: 'welcome', TemplateContent: {
			Html: b64('<html><body><p>Hello {{name}}, code {{code}}</p></body></html>'),
			Text: b64('Hello {{name}}, code {{code}}\n') } })).TemplateID;
		const list = await newList(A, 'three', [
			{ Email: 'ann@example.org', TemplateData: JSON.stringify({ name: 'Ann', code: '1' }) },
			{ Email: 'bob@example.org', TemplateData: JSON.stringify({ name: 'Bob & "Co"', code: '2' }) },
			{ Email: 'cat@example.org', TemplateData: JSON.stringify({ name: 'Cät', code: '3' }) },
		]);
		const r = await A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: list, Subject: 'Hi {{name}}',
			TaskType: 1, Template: { TemplateID: ids.tpl }, Unsubscribe: '1', ADLocation: 1 });
		const msgs = await sink.waitForMessages(3);
		assert.equal(msgs.length, 3);
		const byRcpt = {};
		for (const m of msgs) {
			assert.equal(m.rcpts.length, 1);
			assert.equal(m.mailFrom, SENDER);
			byRcpt[m.rcpts[0]] = m;
		}
		const want = { 'ann@example.org': ['Ann', 'Ann', '1'], 'bob@example.org': ['Bob & "Co"', 'Bob &amp; &quot;Co&quot;', '2'],
			'cat@example.org': ['Cät', 'Cät', '3'] };
		for (const [rcpt, [name, htmlName, code]] of Object.entries(want)) {
			const m = byRcpt[rcpt];
			assert.ok(m, `no message for ${rcpt}`);
			const p = parts(m.message);
			assert.equal(header(p.head, 'To'), rcpt);
			assert.equal(decodeWords(header(p.head, 'Subject')), `<AD> Hi ${name}`);
			assert.match(header(p.head, 'Message-ID'), new RegExp(`^<${r.TaskId}\\.1\\.\\d+\\.\\w+@mail\\.example\\.com>$`));
			assert.ok(p.text.startsWith(`Hello ${name}, code ${code}\n`), p.text);
			assert.ok(p.html.includes(`<p>Hello ${htmlName}, code ${code}</p>`), p.html);
			/* the footer in Chinese (language 1) in both parts, the link with &l=1 */
			const lu = header(p.head, 'List-Unsubscribe');
			const url = /^<(http:\/\/[^>]+\/unsubscribe\?t=[A-Za-z0-9_-]+&l=1)>$/.exec(lu);
			assert.ok(url, lu);
			assert.equal(header(p.head, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');
			assert.ok(p.text.includes('请点击以下链接退订'), p.text);
			assert.ok(p.text.includes(url[1]), `${p.text} lacks ${url[1]}`);
			assert.ok(p.html.includes('点击这里退订') && p.html.includes(url[1].replace('&', '&amp;')), p.html);
			assert.ok(p.html.indexOf('点击这里退订') < p.html.indexOf('</body>'), 'footer inside the body');
			assert.match(header(p.head, 'DKIM-Signature'), /d=mail\.example\.com; s=\S+; t=\d+;/);
			assert.equal(dkimVerify(m.message, pub), 'True', `DKIM of ${rcpt}`);
		}
		await waitFor('task finished', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r.TaskId}`) === '10');
		assert.deepEqual(rows(`SELECT email, state, smtp_code, attempts, lease_owner IS NULL FROM deliveries
			WHERE task_id = ${r.TaskId} ORDER BY email`), [
			['ann@example.org', 'sent', '250', '1', 't'], ['bob@example.org', 'sent', '250', '1', 't'],
			['cat@example.org', 'sent', '250', '1', 't']]);

		/* ADLocation 2: the marker after the subject; no Unsubscribe: no footer, no header */
		const before_ = sink.files().length;
		const r2 = await A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: list, Subject: 'Hi {{name}}',
			TaskType: 1, Template: { TemplateID: ids.tpl }, ADLocation: 2 });
		const all = await sink.waitForMessages(before_ + 3);
		const m2 = all.map((m) => parts(m.message)).filter((p) => header(p.head, 'Message-ID').includes(`<${r2.TaskId}.`));
		assert.equal(m2.length, 3);
		for (const p of m2) {
			assert.match(decodeWords(header(p.head, 'Subject')), /^Hi .+ <AD>$/);
			assert.equal(header(p.head, 'List-Unsubscribe'), null);
			assert.ok(!p.text.includes('退订'));
		}
		await waitFor('task 2 finished', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r2.TaskId}`) === '10');

		/* a recipient without a value for {{code}}: that one fails, the others are sent */
		const list2 = await newList(A, 'partial', [
			{ Email: 'dan@example.org', TemplateData: JSON.stringify({ name: 'Dan' }) },
			{ Email: 'eve@example.org', TemplateData: JSON.stringify({ name: 'Eve' }) },
		]);
		const r3 = await A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: list2, Subject: 'Hi {{name}}',
			TaskType: 1, Template: { TemplateID: ids.tpl, TemplateData: JSON.stringify({ code: 'shared' }) } });
		await waitFor('task 3 finished', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r3.TaskId}`) === '10');
		/* the shared TemplateData fills the gap: both sent */
		assert.equal(pg.psql(`SELECT string_agg(state, ',' ORDER BY email) FROM deliveries WHERE task_id = ${r3.TaskId}`),
			'sent,sent');
		pg.psql(`UPDATE send_tasks SET template_html = replace(template_html, '{{code}}', '{{code}} {{extra}}'),
			status = 5 WHERE id = ${r3.TaskId}`);
		pg.psql(`UPDATE deliveries SET state = 'queued', next_attempt_at = now(), sent_at = NULL
			WHERE task_id = ${r3.TaskId} AND email = 'eve@example.org'`);
		/* the run has one open delivery again (task_runs.open counts them) */
		pg.psql(`UPDATE task_runs SET open = 1, finished_at = NULL WHERE task_id = ${r3.TaskId}`);
		await waitFor('eve failed', () => pg.psql(`SELECT state FROM deliveries WHERE task_id = ${r3.TaskId}
			AND email = 'eve@example.org'`) === 'failed');
		assert.match(pg.psql(`SELECT smtp_reply FROM deliveries WHERE task_id = ${r3.TaskId} AND email = 'eve@example.org'`),
			/template variable \{\{extra\}\}/);
		await waitFor('task 3 finished again', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r3.TaskId}`) === '10');
	} finally {
		await sesd.stop();
		await sink.stop();
	}
});

test('a worker killed mid-batch is replaced and its batch retried: the others exactly once', async () => {
	const sink = await startSink({ args: ['-w', '1'] });
	const sesd = await startSesd({ pg, conf: smtpConf(sink, { workers: 1, messages_per_session: 5 }) });
	try {
		const A = sdkClient(sesd, 0);
		const { emails, r } = await batchTo(A, 'k', 15);
		await waitFor('a batch in flight', () => pg.psql(`SELECT count(*) FROM deliveries
			WHERE task_id = ${r.TaskId} AND state = 'sending'`) !== '0');
		await sleep(1500); /* the session is in its first DATA waits */
		/* 'sending': the batch the worker holds and the next one, claimed while it works
		 * (dispatch.c), each under its own lease; the worker's is the older lease, and its
		 * recipients are the only ones that may get two copies: the next batch goes to the
		 * new worker and is sent once */
		const sending = pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${r.TaskId}
			AND state = 'sending'`);
		assert.equal(sending, '10', 'a batch in flight and the next one claimed');
		const batch = new Set(pg.psql(`SELECT d.email FROM deliveries d
			WHERE d.id = ANY ((SELECT ids FROM dlv_leases ORDER BY id LIMIT 1)::bigint[])`).split('\n'));
		assert.equal(batch.size, 5);
		const workers = sesd.group().filter((p) => p !== sesd.pid);
		assert.equal(workers.length, 1, `one worker expected: ${workers}`);
		process.kill(workers[0], 'SIGKILL');
		await sesd.waitForLog(/worker exited on signal 9/, 10000);
		await waitFor('every recipient sent', () => pg.psql(`SELECT count(*) FROM deliveries
			WHERE task_id = ${r.TaskId} AND state = 'sent'`) === '15', 90000);
		const replaced = sesd.group().filter((p) => p !== sesd.pid);
		assert.equal(replaced.length, 1);
		assert.notEqual(replaced[0], workers[0]);
		const copies = sink.copies();
		for (const e of emails) {
			if (batch.has(e))
				assert.ok(copies[e] >= 1 && copies[e] <= 2, `${e} (killed batch) received ${copies[e]} times`);
			else
				assert.equal(copies[e], 1, `${e} (not in the killed batch) received ${copies[e]} times`);
		}
		/* the killed batch went back to the queue and was claimed again */
		assert.ok(Number(pg.psql(`SELECT max(attempts) FROM deliveries WHERE task_id = ${r.TaskId}
			AND email IN (${[...batch].map((e) => `'${e}'`).join(',')})`)) >= 2);
		await waitFor('task finished', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r.TaskId}`) === '10');
	} finally {
		await sesd.stop();
		await sink.stop();
	}
});

test('a next batch that waited out half its lease goes back to the queue, and is sent once', async () => {
	/* each DATA answered after 2 s: a batch of 3 takes ~6 s, over half the 10 s lease, so the
	 * batch claimed for the worker while it works is given back instead of being started
	 * with too little lease left, and claimed again */
	const sink = await startSink({ args: ['-w', '2'] });
	const sesd = await startSesd({ pg, conf: { ...smtpConf(sink, { workers: 1, messages_per_session: 3, lease: '10s' }),
		sesd: { log_level: 'info' } } });
	try {
		const A = sdkClient(sesd, 0);
		const { emails, r } = await batchTo(A, 'h', 6);
		await sesd.waitForLog(/back to the queue: it waited \d+ ms for smtp 1, over half its lease/, 20000);
		await waitFor('task finished', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r.TaskId}`) === '10', 60000);
		await sleep(300);
		const copies = sink.copies();
		assert.deepEqual(emails.map((e) => copies[e]), emails.map(() => 1), 'each recipient exactly once');
		assert.equal(pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${r.TaskId} AND state = 'sent'`), '6');
		/* the batch given back was claimed again: one attempt more, never sent twice */
		assert.ok(Number(pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${r.TaskId} AND attempts >= 2`)) >= 3,
			'the given-back batch was claimed again');
		assert.equal(pg.psql('SELECT count(*) FROM dlv_leases'), '0');
	} finally {
		await sesd.stop();
		await sink.stop();
	}
});

test('a session that outlasts its lease keeps it: renewed, never expired and sent again', async () => {
	/* each DATA answered after 4 s: a batch of 5 takes ~20 s, twice the 10 s lease. A second
	 * node started 12 s after the claim sweeps expired leases at once: had the lease not been
	 * renewed, it would send the batch back to the queue and it would go out twice */
	const sink = await startSink({ args: ['-w', '4'] });
	const conf = { ...smtpConf(sink, { workers: 1, messages_per_session: 5, lease: '10s' }), sesd: { log_level: 'info' } };
	const s1 = await startSesd({ pg, conf });
	let s2;
	try {
		const A = sdkClient(s1, 0);
		const { emails, r } = await batchTo(A, 'long', 5);
		await waitFor('the batch claimed', () => pg.psql(`SELECT count(*) FROM deliveries
			WHERE task_id = ${r.TaskId} AND state = 'sending'`) === '5', 10000);
		await sleep(12000);
		assert.equal(pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${r.TaskId} AND state = 'sending'`), '5',
			'the session is still going');
		assert.equal(pg.psql("SELECT count(*) FROM dlv_leases WHERE until > now() + interval '3 seconds'"), '1',
			'the lease was renewed past its first end');
		s2 = await startSesd({ pg, conf, migrate: false });
		/* a lease lost all the same (as if swept while the node was cut off) is reported at
		 * the next renewal; the rows stay the node's, since nothing defers them */
		pg.psql('DELETE FROM dlv_leases');
		await s1.waitForLog(/1 leases of batches being sent had expired before they could be renewed/, 8000);
		await waitFor('task finished', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r.TaskId}`) === '10', 60000);
		await sleep(300);
		const copies = sink.copies();
		assert.deepEqual(emails.map((e) => copies[e]), emails.map(() => 1), 'each recipient exactly once');
		assert.equal(pg.psql(`SELECT string_agg(DISTINCT state || ':' || attempts, ',') FROM deliveries
			WHERE task_id = ${r.TaskId}`), 'sent:1');
		assert.equal(pg.psql('SELECT count(*) FROM dlv_leases'), '0');
		assert.doesNotMatch(s1.log() + s2.log(), /[1-9]\d* expired leases back to deferred/);
	} finally {
		if (s2)
			await s2.stop();
		await s1.stop();
		await sink.stop();
	}
});

test('two sesd on one database share a 10,000-recipient task, each recipient once', async () => {
	const sink = await startSink();
	const conf = { ...smtpConf(sink, { workers: 2, messages_per_session: 100 }), sesd: { log_level: 'debug' } };
	const s1 = await startSesd({ pg, conf });
	const s2 = await startSesd({ pg, conf, migrate: false });
	try {
		const A = sdkClient(s1, 0);
		const { emails, r } = await batchTo(A, 'u', 10000);
		await waitFor('task finished', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r.TaskId}`) === '10', 300000);
		await sleep(300);
		const count = Object.fromEntries(Object.entries(sink.copies()).filter(([rc]) => rc.startsWith('u')));
		assert.equal(Object.keys(count).length, 10000);
		assert.deepEqual([...new Set(Object.values(count))], [1], 'some recipient got more than one message');
		assert.equal(pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${r.TaskId} AND state = 'sent'`), '10000');
		/* each batch's lease went with its last results, none was left for the expiry sweep */
		await waitFor('no lease left', () => pg.psql('SELECT count(*) FROM dlv_leases') === '0', 5000);
		/* the claims were heap-only updates (sql/0006_claim_hot.sql): an index that names a
		 * column the claim sets would make each of them write index entries again */
		await waitFor('10,000 claims counted as HOT updates', () => Number(pg.psql(`SELECT n_tup_hot_upd
			FROM pg_stat_user_tables WHERE relname = 'deliveries'`)) >= 9500, 10000);
		/* both nodes claimed: their "dispatcher: node" names are in the logs, and each log
		 * has batches of this task */
		for (const s of [s1, s2])
			assert.match(s.log(), new RegExp(`batch \\d+ of task ${r.TaskId} `), 'a node did no part of the work');
	} finally {
		await s2.stop();
		await s1.stop();
		await sink.stop();
	}
});

test('outcomes: 5xx to RCPT bounced, 4xx deferred with backoff, failed past max_retry_age', async () => {
	const hard = await startSink({ args: ['-f', 'RCPT'] });
	const soft = await startSink({ args: ['-r', 'RCPT'] });
	let sesd = await startSesd({ pg, conf: smtpConf(hard, { retry_base: '1h' }) });
	try {
		let A = sdkClient(sesd, 0);
		const list = await newList(A, 'outcomes', [{ Email: 'bo@example.org', TemplateData: '{"name":"B","code":"1"}' }]);
		const send = () => A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: list, Subject: 'O {{name}}',
			TaskType: 1, Template: { TemplateID: ids.tpl } });
		const r1 = await send();
		await waitFor('bounced', () => pg.psql(`SELECT state FROM deliveries WHERE task_id = ${r1.TaskId}`) === 'bounced');
		const [b] = rows(`SELECT smtp_code, smtp_reply, attempts FROM deliveries WHERE task_id = ${r1.TaskId}`);
		assert.equal(b[0][0], '5');
		assert.match(b[1], /^5\d\d /);
		assert.equal(b[2], '1');
		await waitFor('task 1 finished', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r1.TaskId}`) === '10');
		await sesd.stop();

		sesd = await startSesd({ pg, conf: smtpConf(soft, { retry_base: '1h' }) });
		A = sdkClient(sesd, 0);
		const r2 = await send();
		await waitFor('deferred', () => pg.psql(`SELECT state FROM deliveries WHERE task_id = ${r2.TaskId}`) === 'deferred');
		const [d] = rows(`SELECT smtp_code, attempts, lease_owner IS NULL,
			round(extract(epoch FROM next_attempt_at - now()) / 60) FROM deliveries WHERE task_id = ${r2.TaskId}`);
		assert.equal(d[0][0], '4');
		assert.equal(d[1], '1');
		assert.equal(d[2], 't');
		assert.equal(d[3], '60', 'the first retry waits [smtp] retry_base');
		assert.equal(pg.psql(`SELECT status FROM send_tasks WHERE id = ${r2.TaskId}`), '5');
		/* past max_retry_age the next temporary failure is final */
		pg.psql(`UPDATE deliveries SET created_at = now() - interval '73 hours', next_attempt_at = now()
			WHERE task_id = ${r2.TaskId}`);
		await waitFor('failed', () => pg.psql(`SELECT state FROM deliveries WHERE task_id = ${r2.TaskId}`) === 'failed');
		assert.equal(pg.psql(`SELECT attempts FROM deliveries WHERE task_id = ${r2.TaskId}`), '2');
		await waitFor('task 2 finished', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r2.TaskId}`) === '10');
	} finally {
		await sesd.stop();
		await hard.stop();
		await soft.stop();
	}
});

/* A job over the 64 KiB IPC frame (a 200 KB template) travels as a memfd, whole, and the
 * batch is not split: one session carries all three messages. */
test('a job over 64 KiB reaches the worker as a memfd, and the batch stays whole', async () => {
	const sink = await startSink();
	const sesd = await startSesd({ pg, conf: { ...smtpConf(sink, { workers: 1 }), sesd: { log_level: 'debug' } } });
	try {
		const A = sdkClient(sesd, 0);
		const filler = 'All the news that fits. '.repeat(8500); /* ~200 KB */
		const tpl = (await A.CreateEmailTemplate({ TemplateName: 'big',
			TemplateContent: { Text: b64(`Hi {{name}}\n${filler}\nEND {{code}}`) } })).TemplateID;
		const emails = ['b1@example.org', 'b2@example.org', 'b3@example.org'];
		const list = await newList(A, 'big', emails.map((e, i) => ({ Email: e,
			TemplateData: JSON.stringify({ name: `B${i}`, code: `C${i}` }) })));
		const r = await A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: list, Subject: 'Big {{name}}',
			TaskType: 1, Template: { TemplateID: tpl } });
		await waitFor('task finished', () => pg.psql(`SELECT status FROM send_tasks WHERE id = ${r.TaskId}`) === '10');
		assert.equal(pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${r.TaskId} AND state = 'sent'`), '3');
		assert.match(sesd.log(), new RegExp(`batch \\d+ of task ${r.TaskId} \\(3 recipients\\)`));
		assert.doesNotMatch(sesd.log(), /over the IPC/);
		const got = sink.messages().filter((m) => emails.includes(m.rcpts[0]));
		assert.equal(got.length, 3);
		for (const m of got) {
			const i = emails.indexOf(m.rcpts[0]);
			const body = decodePart(splitMsg(m.message).head, splitMsg(m.message).body);
			assert.ok(body.includes(`Hi B${i}`) && body.includes(`END C${i}`), `message to ${m.rcpts[0]}`);
			assert.ok(body.includes(filler.trim()), 'the whole template arrived');
		}
	} finally {
		await sesd.stop();
		await sink.stop();
	}
});

test('SendEmail: one message id for every recipient, each its own transaction', async () => {
	const sink = await startSink();
	const sesd = await startSesd({ pg, conf: smtpConf(sink) });
	try {
		const A = sdkClient(sesd, 0);
		const r = await A.SendEmail({ FromEmailAddress: `Shop <${SENDER}>`, Destination: ['s1@example.org'],
			Cc: ['s2@example.org'], Bcc: ['s3@example.org'], Subject: 'Single {{name}}',
			Template: { TemplateID: ids.tpl, TemplateData: '{"name":"S","code":"9"}' } });
		const msgs = await sink.waitForMessages(3);
		assert.deepEqual(msgs.map((m) => m.rcpts[0]).sort(), ['s1@example.org', 's2@example.org', 's3@example.org']);
		for (const m of msgs) {
			const p = parts(m.message);
			assert.equal(header(p.head, 'Message-ID'), `<${r.MessageId}>`);
			assert.equal(decodeWords(header(p.head, 'Subject')), 'Single S');
			assert.ok(p.text.startsWith('Hello S, code 9'));
		}
		await waitFor('all sent', () => pg.psql(`SELECT string_agg(DISTINCT state, ',') FROM deliveries
			WHERE message_id = '${r.MessageId}'`) === 'sent');
	} finally {
		await sesd.stop();
		await sink.stop();
	}
});

test('SendEmail: one message, To: every Destination, Cc: the Cc, no Bcc, SmtpHeaders, DKIM', async () => {
	const sink = await startSink();
	const sesd = await startSesd({ pg, conf: smtpConf(sink) });
	try {
		const A = sdkClient(sesd, 0);
		const g = await A.GetEmailIdentity({ EmailIdentity: 'mail.example.com' });
		const pub = /p=([A-Za-z0-9+/=]+)/.exec(g.Attributes[1].ExpectedValue)[1];
		const r = await A.SendEmail({ FromEmailAddress: SENDER, Destination: ['ma@example.org', 'mb@example.net'],
			Cc: ['mc@example.com'], Bcc: ['md-hidden@example.org'], Subject: 'Multi {{name}}',
			SmtpHeaders: JSON.stringify({ 'X-Campaign': 'q4' }),
			Template: { TemplateID: ids.tpl, TemplateData: '{"name":"M","code":"7"}' } });
		const msgs = await sink.waitForMessages(4);
		assert.equal(msgs.length, 4);
		assert.deepEqual(msgs.map((m) => { assert.equal(m.rcpts.length, 1); return m.rcpts[0]; }).sort(),
			['ma@example.org', 'mb@example.net', 'mc@example.com', 'md-hidden@example.org']);
		for (const m of msgs) {
			const p = parts(m.message);
			const who = m.rcpts[0];
			assert.equal(header(p.head, 'To'), 'ma@example.org, mb@example.net', who);
			assert.equal(header(p.head, 'Cc'), 'mc@example.com', who);
			assert.equal(header(p.head, 'Bcc'), null, who);
			assert.ok(!/md-hidden/i.test(p.head), `Bcc address in the headers of ${who}: ${p.head}`);
			assert.equal(header(p.head, 'X-Campaign'), 'q4', who);
			assert.equal(header(p.head, 'Message-ID'), `<${r.MessageId}>`, who);
			assert.equal(decodeWords(header(p.head, 'Subject')), 'Multi M');
			assert.ok(p.text.startsWith('Hello M, code 7'), p.text);
			assert.match(header(p.head, 'DKIM-Signature'), /d=mail\.example\.com; s=\S+; t=\d+;/);
			assert.equal(dkimVerify(m.message, pub), 'True', `DKIM of ${who}`);
		}
		await waitFor('all sent', () => pg.psql(`SELECT string_agg(DISTINCT state, ',') || count(*) FROM deliveries
			WHERE message_id = '${r.MessageId}'`) === 'sent4');
	} finally {
		await sesd.stop();
		await sink.stop();
	}
});

test('a dead node\'s lease expires and its deliveries are sent by another', async () => {
	const sink = await startSink();
	const sesd = await startSesd({ pg, conf: { ...smtpConf(sink), smtp: { ...smtpConf(sink).smtp, workers: 0 } } });
	let s2;
	try {
		const A = sdkClient(sesd, 0);
		const list = await newList(A, 'lease', [{ Email: 'le@example.org', TemplateData: '{"name":"L","code":"1"}' }]);
		const r = await A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: list, Subject: 'L {{name}}',
			TaskType: 1, Template: { TemplateID: ids.tpl } });
		/* as if a node had claimed it and died */
		pg.psql(`WITH d AS (UPDATE deliveries SET state = 'sending', attempts = 1, lease_owner = 'dead:1',
			lease_until = now() - interval '1 second' WHERE task_id = ${r.TaskId} RETURNING id, lease_until)
			INSERT INTO dlv_leases (owner, until, ids) SELECT 'dead:1', max(lease_until), array_agg(id) FROM d`);
		await sleep(500);
		assert.equal(pg.psql(`SELECT state FROM deliveries WHERE task_id = ${r.TaskId}`), 'sending',
			'a workers = 0 node delivers nothing');
		s2 = await startSesd({ pg, conf: smtpConf(sink), migrate: false });
		await waitFor('sent', () => pg.psql(`SELECT state FROM deliveries WHERE task_id = ${r.TaskId}`) === 'sent', 30000);
		assert.equal(pg.psql(`SELECT attempts FROM deliveries WHERE task_id = ${r.TaskId}`), '2');
		assert.deepEqual(sink.messages().flatMap((m) => m.rcpts).filter((x) => x === 'le@example.org'), ['le@example.org']);
	} finally {
		if (s2)
			await s2.stop();
		await sesd.stop();
		await sink.stop();
	}
});

test('SIGTERM mid-batch: the session finishes, results are written, nothing left sending', async () => {
	const sink = await startSink({ args: ['-w', '1'] });
	const sesd = await startSesd({ pg, conf: smtpConf(sink, { workers: 1, messages_per_session: 3 }) });
	const A = sdkClient(sesd, 0);
	const { emails, r } = await batchTo(A, 't', 6);
	await waitFor('a batch in flight', () => pg.psql(`SELECT count(*) FROM deliveries
		WHERE task_id = ${r.TaskId} AND state = 'sending'`) !== '0');
	await sesd.stop({ timeoutMs: 20000 });
	const st = rows(`SELECT state, count(*) FROM deliveries WHERE task_id = ${r.TaskId} GROUP BY 1 ORDER BY 1`);
	assert.ok(!st.some((x) => x[0] === 'sending'), JSON.stringify(st));
	const sent = Number((st.find((x) => x[0] === 'sent') || [0, 0])[1]);
	assert.ok(sent >= 3, `the batch in flight was finished: ${JSON.stringify(st)}`);
	assert.equal(sink.files().length, sent);
	await sink.stop();
});

test('Unsubscribe without [content] unsubscribe_key_file: that task\'s recipients fail, clearly', async () => {
	const sink = await startSink();
	const sesd = await startSesd({ pg, conf: smtpConf(sink), unsubscribeKey: null });
	try {
		const A = sdkClient(sesd, 0);
		const list = await newList(A, 'nokey', [{ Email: 'nk@example.org', TemplateData: '{"name":"N","code":"1"}' }]);
		const r = await A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: list, Subject: 'N {{name}}',
			TaskType: 1, Template: { TemplateID: ids.tpl }, Unsubscribe: '2' });
		await waitFor('failed', () => pg.psql(`SELECT state FROM deliveries WHERE task_id = ${r.TaskId}`) === 'failed');
		assert.match(pg.psql(`SELECT smtp_reply FROM deliveries WHERE task_id = ${r.TaskId}`), /unsubscribe_key_file is not configured/);
		/* without Unsubscribe the same sesd sends */
		const r2 = await A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: list, Subject: 'N {{name}}',
			TaskType: 1, Template: { TemplateID: ids.tpl } });
		await waitFor('sent', () => pg.psql(`SELECT state FROM deliveries WHERE task_id = ${r2.TaskId}`) === 'sent');
		/* (the sink may also get what earlier tests left queued) */
		await waitFor('one message for nk', () => sink.messages().filter((m) => m.rcpts[0] === 'nk@example.org').length === 1);
	} finally {
		await sesd.stop();
		await sink.stop();
	}
});
