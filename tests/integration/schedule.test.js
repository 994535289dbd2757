'use strict';
/*
 * The scheduler (timed.c, db_timed.c; issue 4): timed (TaskType 2) and cyclic (TaskType 3)
 * tasks through the official SDK, real PostgreSQL, smtp-sink writing every message to a file.
 *   - a timed task 5 s ahead is not started early and starts within 3 s of BeginTime (the lag
 *     is printed); ListSendTasks shows 1, then 10, TimedParam as given, NextRunTime;
 *   - a cyclic task with [scheduler] hour_seconds = 2 completes 3 runs, each recipient mailed
 *     once per run, status back to 1 between runs with its NextRunTime;
 *   - sesd SIGKILLed between runs and restarted later: no run doubled, only the latest missed
 *     run fires (the others counted in runs_skipped), and a timed task that fell due during
 *     the downtime fires once on start;
 *   - two sesd on one database: every run released once (task_runs and mails counted);
 *   - a run that falls due while the previous one is still sending (relay down) waits for it,
 *     then only the latest slot fires;
 *   - a cyclic task whose list was deleted: status 7 with ErrMsg at its next run, no run;
 *   - `sesd task pause|resume|stop`: status 6, no run while paused, catch-up on resume, status
 *     10 with ErrMsg after stop and no run after it.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const { startPg, startSink, startSesd, sdkClient, freePort, waitFor } = require('./lib/stack');

const SENDER = 'news@mail.example.com';
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SESD_BIN = process.env.SESD_BIN;

let pg, sink;
const ids = {};

/* "YYYY-MM-DD HH:MM:SS" in Asia/Shanghai (UTC+8, no DST), whole seconds */
function beijing(ms) {
	return new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/* a BeginTime `sec` seconds ahead, on a whole second; and that instant in ms */
function ahead(sec) {
	const at = Math.ceil(Date.now() / 1000) * 1000 + sec * 1000;
	return { text: beijing(at), ms: at };
}

function conf(extra = {}) {
	return {
		api: { rate_limit: 0 },
		scheduler: { hour_seconds: 2 },
		smtp: { relay_host: '127.0.0.1', relay_port: sink.port, starttls: 'none', retry_base: '1s',
			command_timeout: 30 },
		...extra,
	};
}

function rows(sql) {
	const out = pg.psql(sql);
	return out === '' ? [] : out.split('\n').map((l) => l.split('|'));
}


/* mails in the sink for a task: { '<run>': { email: count } } from Message-IDs */
function mailsOf(task) {
	const out = {};
	for (const m of sink.messages()) {
		const id = /^Message-ID: <(\d+)\.(\d+)\.\d+\./im.exec(m.message);
		if (!id || Number(id[1]) !== task)
			continue;
		for (const r of m.rcpts) {
			out[id[2]] = out[id[2]] || {};
			out[id[2]][r] = (out[id[2]][r] || 0) + 1;
		}
	}
	return out;
}

async function taskCmd(sesd, verb, task) {
	const { stdout } = await promisify(execFile)(SESD_BIN, ['-c', sesd.confPath, 'task', verb, String(task)]);
	return stdout.trim();
}

async function listTask(client, task) {
	const r = await client.ListSendTasks({ Limit: 100, Offset: 0 });
	return r.Data.find((t) => t.TaskId === task);
}

async function setup(client) {
	await client.CreateEmailIdentity({ EmailIdentity: 'mail.example.com' });
	await client.CreateEmailAddress({ EmailAddress: SENDER });
	ids.tpl = (await client.CreateEmailTemplate({ TemplateName: 'sched',
		TemplateContent: { Html: b64('<p>Hi {{name}}</p>'), Text: b64('Hi {{name}}') } })).TemplateID;
	const r = await client.CreateReceiver({ ReceiversName: 'sched list' });
	await client.CreateReceiverDetailWithData({ ReceiverId: r.ReceiverId, Datas: [
		{ Email: 'ann@example.org', TemplateData: '{"name":"Ann"}' },
		{ Email: 'bob@example.org', TemplateData: '{"name":"Bob"}' },
		{ Email: 'cy@example.org', TemplateData: '{"name":"Cy"}' },
	] });
	ids.list = r.ReceiverId;
}

function batch(client, type, param) {
	const req = { FromEmailAddress: SENDER, ReceiverId: ids.list, Subject: 'Hi {{name}}', TaskType: type,
		Template: { TemplateID: ids.tpl } };
	if (type === 2)
		req.TimedParam = param;
	else
		req.CycleParam = param;
	return client.BatchSendEmail(req).then((r) => r.TaskId);
}

before(async () => {
	pg = await startPg();
	sink = await startSink();
	const sesd = await startSesd({ pg, conf: conf() });
	try {
		await setup(sdkClient(sesd));
	} finally {
		await sesd.stop();
	}
});

after(async () => {
	await sink?.stop();
	await pg?.stop();
});

test('a timed task is not started early and starts on time', async () => {
	const sesd = await startSesd({ pg, conf: conf(), migrate: false });
	try {
		const c = sdkClient(sesd);
		const begin = ahead(5);
		const task = await batch(c, 2, { BeginTime: begin.text });
		const t0 = await listTask(c, task);
		assert.equal(t0.TaskStatus, 1);
		assert.deepEqual(t0.TimedParam, { BeginTime: begin.text });
		assert.equal(t0.CycleParam, null);
		assert.equal(t0.NextRunTime, begin.text);
		/* not early: nothing released until 300 ms before BeginTime */
		while (Date.now() < begin.ms - 300) {
			assert.equal(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${task}`), '0',
				'released before BeginTime');
			await sleep(100);
		}
		await waitFor('run 1', () => pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${task}`) === '1', 15000);
		const lag = Number(pg.psql(`SELECT extract(epoch FROM r.released_at - t.begin_at) FROM task_runs r
			JOIN send_tasks t ON t.id = r.task_id WHERE r.task_id = ${task}`));
		console.log(`# timed task: released ${(lag * 1000).toFixed(0)} ms after BeginTime`);
		assert.ok(lag >= 0, `released ${lag} s before BeginTime`);
		assert.ok(lag < 3, `released ${lag} s after BeginTime (tolerance 3 s)`);
		await waitFor('task finished', async () => (await listTask(c, task)).TaskStatus === 10);
		const t1 = await listTask(c, task);
		assert.equal(t1.SendCount, 3);
		assert.equal(t1.RequestCount, 3);
		assert.equal(t1.NextRunTime, null);
		assert.deepEqual(mailsOf(task), { 1: { 'ann@example.org': 1, 'bob@example.org': 1, 'cy@example.org': 1 } });
	} finally {
		await sesd.stop();
	}
});

test('a cyclic task runs every IntervalTime hours: 3 runs, each recipient once per run', async () => {
	const sesd = await startSesd({ pg, conf: conf(), migrate: false });
	try {
		const c = sdkClient(sesd);
		const begin = ahead(2);
		const task = await batch(c, 3, { BeginTime: begin.text, IntervalTime: 1 });
		const t0 = await listTask(c, task);
		assert.deepEqual(t0.CycleParam, { BeginTime: begin.text, IntervalTime: 1, TermCycle: 0 });
		assert.equal(t0.TimedParam, null);
		/* between runs: back to 1, with the next run time visible */
		await waitFor('run 1 over', () => rows(`SELECT finished_at IS NOT NULL FROM task_runs
			WHERE task_id = ${task} AND run_no = 1`)[0]?.[0] === 't', 15000);
		const between = await waitFor('status 1 between runs', async () => {
			const t = await listTask(c, task);
			return t.TaskStatus === 1 && t.NextRunTime ? t : null;
		}, 5000);
		assert.equal(between.NextRunTime, beijing(begin.ms + 2000 * Number(pg.psql(
			`SELECT last_run_no FROM send_tasks WHERE id = ${task}`))));
		await waitFor('3 runs finished', () => Number(pg.psql(`SELECT count(*) FROM task_runs
			WHERE task_id = ${task} AND finished_at IS NOT NULL`)) >= 3, 20000);
		assert.match(await taskCmd(sesd, 'stop', task), /stopped/);
		const runs = rows(`SELECT run_no, recipients, extract(epoch FROM released_at - t.begin_at)
			FROM task_runs r JOIN send_tasks t ON t.id = r.task_id WHERE task_id = ${task} ORDER BY run_no`);
		for (const [i, [run, n, offset]] of runs.entries()) {
			assert.equal(Number(run), i + 1, 'runs are 1, 2, 3, ... with none skipped');
			assert.equal(Number(n), 3);
			/* run k fires at BeginTime + (k - 1) x 2 s */
			assert.ok(Number(offset) >= 2 * i && Number(offset) < 2 * i + 3, `run ${run} at +${offset} s`);
		}
		await waitFor('every run mailed', () => {
			const m = mailsOf(task);
			return Object.keys(m).length === runs.length &&
				Object.values(m).every((x) => Object.keys(x).length === 3) ? m : null;
		});
		for (const [run, byRcpt] of Object.entries(mailsOf(task)))
			assert.deepEqual(byRcpt, { 'ann@example.org': 1, 'bob@example.org': 1, 'cy@example.org': 1 }, `run ${run}`);
		assert.equal(pg.psql(`SELECT runs_skipped FROM send_tasks WHERE id = ${task}`), '0');
	} finally {
		await sesd.stop();
	}
});

test('SIGKILL between runs: no run doubled, only the latest missed run fires; a timed task fires once', async () => {
	let sesd = await startSesd({ pg, conf: conf(), migrate: false });
	let cyc, timed;
	try {
		const c = sdkClient(sesd);
		const begin = ahead(2);
		cyc = await batch(c, 3, { BeginTime: begin.text, IntervalTime: 1 });
		await waitFor('run 1 over', () => rows(`SELECT finished_at IS NOT NULL FROM task_runs
			WHERE task_id = ${cyc} AND run_no = 1`)[0]?.[0] === 't', 15000);
		timed = await batch(c, 2, { BeginTime: ahead(3).text });
		await sesd.kill('SIGKILL');
	} catch (e) {
		await sesd.stop();
		throw e;
	}
	await sesd.stop();
	const runsBefore = Number(pg.psql(`SELECT last_run_no FROM send_tasks WHERE id = ${cyc}`));
	await sleep(7000); /* 3 slots or more pass; the timed task falls due */
	assert.equal(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${timed}`), '0');
	sesd = await startSesd({ pg, conf: conf(), migrate: false });
	try {
		await waitFor('timed task released', () => pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${timed}`) === '1', 10000);
		await waitFor('catch-up run', () => Number(pg.psql(`SELECT last_run_no FROM send_tasks WHERE id = ${cyc}`)) > runsBefore, 10000);
		const [runNo, skipped, released] = rows(`SELECT r.run_no, t.runs_skipped,
			floor(extract(epoch FROM r.released_at - t.begin_at) / 2)::int + 1
			FROM task_runs r JOIN send_tasks t ON t.id = r.task_id WHERE r.task_id = ${cyc}
			ORDER BY r.run_no LIMIT 1 OFFSET ${runsBefore}`)[0].map(Number);
		/* the run released is the latest slot due at that moment, and every slot in between
		 * is counted as skipped, none released */
		assert.equal(runNo, released, 'the catch-up run is the latest due slot');
		assert.ok(runNo - runsBefore >= 3, `downtime of 7 s spans 3 slots (run ${runNo} after ${runsBefore})`);
		assert.equal(skipped, runNo - runsBefore - 1);
		assert.equal(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${cyc} AND run_no > ${runsBefore}
			AND run_no < ${runNo}`), '0');
		await sleep(1500); /* the timed task stays at one run */
		assert.equal(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${timed}`), '1');
		assert.match(await taskCmd(sesd, 'stop', cyc), /stopped/);
		await waitFor('mails of both', () => {
			const a = mailsOf(cyc), b = mailsOf(timed);
			return Object.values(a).reduce((n, x) => n + Object.keys(x).length, 0) ===
				Number(pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${cyc} AND state = 'sent'`)) &&
				Object.keys(b[1] || {}).length === 3;
		});
		/* no recipient mailed twice in any run */
		for (const t of [cyc, timed])
			for (const [run, byRcpt] of Object.entries(mailsOf(t)))
				for (const [r, n] of Object.entries(byRcpt))
					assert.equal(n, 1, `task ${t} run ${run}: ${r} mailed ${n} times`);
	} finally {
		await sesd.stop();
	}
});

test('two sesd on one database: every run released once', async () => {
	const a = await startSesd({ pg, conf: conf(), migrate: false });
	const b = await startSesd({ pg, conf: conf(), migrate: false });
	try {
		const ca = sdkClient(a), cb = sdkClient(b);
		const begin = ahead(3);
		const timedTasks = [];
		for (let i = 0; i < 10; i++)
			timedTasks.push(await batch(i % 2 ? ca : cb, 2, { BeginTime: begin.text }));
		const cyc = await batch(ca, 3, { BeginTime: begin.text, IntervalTime: 1 });
		await waitFor('timed tasks released', () => Number(pg.psql(`SELECT count(*) FROM task_runs
			WHERE task_id IN (${timedTasks.join(',')})`)) === 10, 15000);
		await waitFor('3 cyclic runs', () => Number(pg.psql(`SELECT count(*) FROM task_runs
			WHERE task_id = ${cyc} AND finished_at IS NOT NULL`)) >= 3, 20000);
		assert.match(await taskCmd(b, 'stop', cyc), /stopped/);
		const runs = Number(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${cyc}`));
		assert.equal(pg.psql(`SELECT max(run_no) FROM task_runs WHERE task_id = ${cyc}`), String(runs));
		await sleep(1000);
		for (const t of timedTasks)
			assert.equal(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${t}`), '1');
		await waitFor('all mailed', () => Number(pg.psql(`SELECT count(*) FROM deliveries WHERE state = 'sent'
			AND task_id IN (${[...timedTasks, cyc].join(',')})`)) === 30 + runs * 3 ? true : null);
		for (const t of [...timedTasks, cyc]) {
			const m = mailsOf(t);
			for (const [run, byRcpt] of Object.entries(m))
				assert.deepEqual(byRcpt, { 'ann@example.org': 1, 'bob@example.org': 1, 'cy@example.org': 1 },
					`task ${t} run ${run}`);
			assert.equal(Object.keys(m).length, t === cyc ? runs : 1);
		}
	} finally {
		await a.stop();
		await b.stop();
	}
});

test('a run due while the previous one is still sending waits for it; then only the latest slot fires', async () => {
	const port = await freePort(); /* nothing listens yet: the relay is down */
	const sesd = await startSesd({ pg, conf: conf({ smtp: { relay_host: '127.0.0.1', relay_port: port,
		starttls: 'none', retry_base: '1s', connect_timeout: 2 } }), migrate: false });
	let late;
	try {
		const c = sdkClient(sesd);
		const task = await batch(c, 3, { BeginTime: ahead(1).text, IntervalTime: 1 });
		await waitFor('run 1 deferred', () => pg.psql(`SELECT count(*) FROM deliveries
			WHERE task_id = ${task} AND state = 'deferred'`) === '3', 15000);
		await sleep(5000); /* two more slots fall due */
		assert.equal(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${task}`), '1',
			'no second concurrent send of the list');
		assert.equal((await listTask(c, task)).TaskStatus, 5);
		late = await startSink({ port });
		await waitFor('run 1 sent', () => pg.psql(`SELECT count(*) FROM deliveries WHERE task_id = ${task}
			AND run_no = 1 AND state = 'sent'`) === '3', 20000);
		await waitFor('the next run', () => Number(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${task}`)) >= 2, 10000);
		/* the run after run 1 is the latest slot due when run 1 ended, not run 2 */
		const [run2, skipped] = rows(`SELECT (SELECT run_no FROM task_runs WHERE task_id = ${task}
			ORDER BY run_no OFFSET 1 LIMIT 1), runs_skipped FROM send_tasks WHERE id = ${task}`)[0].map(Number);
		assert.ok(run2 >= 4, `the latest slot fires (run ${run2})`);
		assert.ok(skipped >= run2 - 2, `runs 2..${run2 - 1} counted as skipped (${skipped})`);
		assert.match(await taskCmd(sesd, 'stop', task), /stopped/);
	} finally {
		await sesd.stop();
		await late?.stop();
	}
});

test('a cyclic task whose list was deleted ends with status 7 at its next run', async () => {
	const sesd = await startSesd({ pg, conf: conf(), migrate: false });
	try {
		const c = sdkClient(sesd);
		const r = await c.CreateReceiver({ ReceiversName: 'short-lived' });
		await c.CreateReceiverDetail({ ReceiverId: r.ReceiverId, Emails: ['gone@example.org'] });
		const task = await c.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: r.ReceiverId, Subject: 'Hi',
			TaskType: 3, CycleParam: { BeginTime: ahead(1).text, IntervalTime: 1 },
			Template: { TemplateID: ids.tpl, TemplateData: '{"name":"x"}' } }).then((x) => x.TaskId);
		await waitFor('run 1 over', () => rows(`SELECT finished_at IS NOT NULL FROM task_runs
			WHERE task_id = ${task} AND run_no = 1`)[0]?.[0] === 't', 15000);
		await c.DeleteReceiver({ ReceiverId: r.ReceiverId });
		const t = await waitFor('status 7', async () => {
			const x = await listTask(c, task);
			return x.TaskStatus === 7 ? x : null;
		}, 10000);
		assert.equal(t.ErrMsg, 'the recipient list no longer exists');
		assert.equal(t.NextRunTime, null);
		assert.equal(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${task}`), '1');
	} finally {
		await sesd.stop();
	}
});

test('sesd task pause, resume and stop', async () => {
	const sesd = await startSesd({ pg, conf: conf(), migrate: false });
	try {
		const c = sdkClient(sesd);
		const task = await batch(c, 3, { BeginTime: ahead(1).text, IntervalTime: 1 });
		await waitFor('run 1 over', () => rows(`SELECT finished_at IS NOT NULL FROM task_runs
			WHERE task_id = ${task} AND run_no = 1`)[0]?.[0] === 't', 15000);
		assert.match(await taskCmd(sesd, 'pause', task), /paused/);
		const paused = await listTask(c, task);
		assert.equal(paused.TaskStatus, 6);
		assert.equal(paused.ErrMsg, 'paused by the operator');
		const runs = Number(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${task}`));
		await sleep(5000);
		assert.equal(Number(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${task}`)), runs,
			'no run while paused');
		assert.match(await taskCmd(sesd, 'resume', task), /resumed/);
		await waitFor('catch-up run after resume', () => Number(pg.psql(`SELECT count(*) FROM task_runs
			WHERE task_id = ${task}`)) === runs + 1, 5000);
		assert.ok(Number(pg.psql(`SELECT runs_skipped FROM send_tasks WHERE id = ${task}`)) >= 1);
		assert.match(await taskCmd(sesd, 'stop', task), /stopped/);
		const stopped = await listTask(c, task);
		assert.equal(stopped.TaskStatus, 10);
		assert.equal(stopped.ErrMsg, 'stopped by the operator');
		assert.equal(stopped.NextRunTime, null);
		const after = Number(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${task}`));
		await sleep(4500);
		assert.equal(Number(pg.psql(`SELECT count(*) FROM task_runs WHERE task_id = ${task}`)), after,
			'no run after stop');
		await assert.rejects(taskCmd(sesd, 'pause', task), /has ended/);
		await assert.rejects(taskCmd(sesd, 'pause', 999999), /does not exist/);
		await assert.rejects(taskCmd(sesd, 'halt', task), /usage/);
	} finally {
		await sesd.stop();
	}
});
