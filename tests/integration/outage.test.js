'use strict';
/*
 * outage.test.js: PostgreSQL going away under a running sesd. While it is down every
 * action answers ServiceUnavailable in the normal envelope (HTTP 200, RequestId) within a
 * few seconds, never hangs and never InternalError; requests that need no database
 * (signature errors) are answered as usual; once PostgreSQL is back, calls succeed again
 * within seconds without restarting sesd (same pid throughout). Both a clean fast
 * shutdown (pg.sh stop) and a crash-like immediate shutdown (pg.sh kill).
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startPg, startSesd, sdkClient, expectCode, sleep } = require('./lib/stack');
const { signedRequest } = require('../tools/tc3sign');

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LIST = { Limit: 10, Offset: 0 };
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');

let pg;
let sesd;
let templateId;

before(async () => {
	pg = await startPg();
	sesd = await startSesd({ pg, conf: { api: { rate_limit: 0 }, database: { reconnect_interval: 1, pool_size: 3 } } });
});

after(async () => {
	if (sesd)
		await sesd.stop();
	if (pg)
		await pg.stop();
});

async function raw(opts = {}) {
	const acc = sesd.accounts[0];
	const r = await signedRequest({ endpoint: sesd.endpoint, secretId: acc.secretId, secretKey: acc.secretKey,
		action: 'ListEmailTemplates', body: LIST, timeoutMs: 15000, ...opts });
	assert.equal(r.status, 200, r.body);
	assert.equal(r.headers['content-type'], 'application/json');
	assert.ok(r.json && r.json.Response, r.body);
	assert.match(r.json.Response.RequestId, UUID_RE);
	return r.json.Response;
}

/* The same sesd process, alive. */
function assertSameSesd() {
	assert.equal(sesd.exitStatus, null, `sesd exited: ${JSON.stringify(sesd.exitStatus)}\n${sesd.log()}`);
	assert.ok(sesd.group().includes(sesd.pid), "sesd is not running");
}

/* Every database-backed action of a few families answers ServiceUnavailable quickly. */
async function expectUnavailable() {
	const calls = [
		['ListEmailTemplates', LIST],
		['GetEmailTemplate', { TemplateID: templateId }],
		['CreateEmailTemplate', { TemplateName: 'during outage', TemplateContent: { Text: b64('x') } }],
		['UpdateEmailTemplate', { TemplateID: templateId, TemplateName: 'x', TemplateContent: { Text: b64('y') } }],
		['DeleteEmailTemplate', { TemplateID: templateId }],
		['ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2 }],
	];
	for (const [action, body] of calls) {
		const t0 = Date.now();
		const resp = await raw({ action, body });
		const ms = Date.now() - t0;
		assert.ok(resp.Error, `${action} succeeded with the database down: ${JSON.stringify(resp)}`);
		assert.equal(resp.Error.Code, 'ServiceUnavailable', `${action}: ${JSON.stringify(resp)}`);
		assert.ok(ms < 5000, `${action} took ${ms} ms`);
	}
	/* the SDK sees the code too */
	const err = await expectCode(sdkClient(sesd).ListEmailTemplates(LIST), 'ServiceUnavailable');
	assert.match(err.requestId, UUID_RE);
	/* no database needed: answered as usual */
	const bad = await raw({ secretKey: 'k'.repeat(32) });
	assert.equal(bad.Error.Code, 'AuthFailure.SignatureFailure');
	const unknown = await raw({ action: 'NoSuchAction' });
	assert.equal(unknown.Error.Code, 'InvalidAction');
	const param = await raw({ body: { Limit: '1', Offset: 0 } });
	assert.equal(param.Error.Code, 'InvalidParameter');
}

/* Polls until a call succeeds; returns ms taken. Every answer meanwhile is success or
 * ServiceUnavailable. */
async function waitRecovered(limitMs) {
	const t0 = Date.now();
	for (;;) {
		const resp = await raw();
		if (!resp.Error)
			return Date.now() - t0;
		assert.equal(resp.Error.Code, 'ServiceUnavailable', JSON.stringify(resp));
		assert.ok(Date.now() - t0 < limitMs, `no success within ${limitMs} ms of PostgreSQL's restart`);
		await sleep(200);
	}
}

async function checkData() {
	const got = await sdkClient(sesd).GetEmailTemplate({ TemplateID: templateId });
	assert.equal(got.TemplateName, 'before outage');
	const list = await sdkClient(sesd).ListEmailTemplates({ Limit: 100, Offset: 0 });
	assert.equal(list.TotalCount, 1, 'a write during the outage must not have landed');
}

test('baseline: calls succeed', async () => {
	const r = await sdkClient(sesd).CreateEmailTemplate({ TemplateName: 'before outage',
		TemplateContent: { Html: b64('<p>{{name}}</p>') } });
	templateId = r.TemplateID;
	assert.equal(typeof templateId, 'number');
	/* twice: the node now keeps this page, which it must not send while it cannot ask
	 * the database whether the page is still current (api.h, reply cache) */
	for (let i = 0; i < 2; i++)
		assert.equal((await raw()).TotalCount, 1);
	assertSameSesd();
});

test('PostgreSQL stopped: ServiceUnavailable at once; back after restart without restarting sesd', async () => {
	await pg.stopOnly();
	assert.equal(pg.running(), false);
	await expectUnavailable();
	/* still unavailable a few reconnect intervals later (no stuck queue) */
	await sleep(2500);
	await expectUnavailable();
	assertSameSesd();

	await pg.startAgain();
	const ms = await waitRecovered(10000);
	assert.ok(ms < 10000);
	/* every pooled connection works again, not just one */
	const results = await Promise.all(Array.from({ length: 12 }, () => raw()));
	for (const r of results)
		assert.equal(r.Error, undefined, JSON.stringify(r));
	await checkData();
	assertSameSesd();
});

test('PostgreSQL crashes (immediate shutdown) with requests in flight', async () => {
	/* a stream of requests across the crash: each is answered, as success or ServiceUnavailable */
	const inflight = [];
	let stop = false;
	const pump = (async () => {
		while (!stop) {
			inflight.push(raw().catch((e) => ({ Error: { Code: `transport: ${e.message}` } })));
			await sleep(10);
		}
	})();
	await sleep(200);
	await pg.kill();
	assert.equal(pg.running(), false);
	await sleep(500);
	stop = true;
	await pump;
	const answers = await Promise.all(inflight);
	const codes = new Set(answers.map((r) => (r.Error ? r.Error.Code : 'ok')));
	for (const c of codes)
		assert.ok(c === 'ok' || c === 'ServiceUnavailable', `unexpected answer around the crash: ${c}`);
	assert.ok(codes.has('ServiceUnavailable'), [...codes].join(','));

	await expectUnavailable();
	assertSameSesd();

	await pg.startAgain();
	await waitRecovered(10000);
	await checkData();
	const created = await sdkClient(sesd).CreateEmailTemplate({ TemplateName: 'after crash',
		TemplateContent: { Text: b64('ok') } });
	assert.ok(created.TemplateID > templateId);
	await sdkClient(sesd).DeleteEmailTemplate({ TemplateID: created.TemplateID });
	assertSameSesd();
});

test('a second outage right after recovery is handled the same way', async () => {
	await pg.stopOnly();
	await expectUnavailable();
	await pg.startAgain();
	await waitRecovered(10000);
	await checkData();
	assertSameSesd();
	assert.match(sesd.log(), /db\[\d+\]: connected/);
	assert.match(sesd.log(), /WARNING \[main\] db\[\d+\]: connection lost: /);
	/* one line per message, even when libpq's text spans lines */
	for (const line of sesd.log().split('\n').filter(Boolean))
		assert.match(line, /^(DEBUG|INFO|WARNING|ERROR) \[/, `log line without a level: ${line}`);
});
