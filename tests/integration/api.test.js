'use strict';
/*
 * api.test.js: the behaviour every action shares (ses-api.md sections 1-2), through the
 * official SDK and through the independent raw signer tests/tools/tc3sign.js, which can
 * sign one thing and send another. Exact Error.Code for each failure of the common
 * pipeline (method, size, headers, TC3, version, region, action, rate limit, JSON body,
 * strict parameter types), the envelope of every reply, GET with flattened parameters,
 * the slow-client timeout, SIGHUP reloads (good and broken), `sesd -n`, and the schema
 * version check at start-up. Account isolation is tested by each family's own file.
 */
const { test, before, after, describe } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { startPg, startSesd, sdkClient, expectCode, randomAlnum, iniText, freePort, sleep, SESD_BIN } =
	require('./lib/stack');
const { signedRequest, sign } = require('../tools/tc3sign');

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MAX_BODY = 2048;
const LIST = { Limit: 10, Offset: 0 };

let pg;
let sesd; /* rate limit off, max_body 2048, timeout 2 s */
const requestIds = new Set();

before(async () => {
	pg = await startPg();
	sesd = await startSesd({ pg, conf: { api: { rate_limit: 0, max_body: MAX_BODY, timeout: 2 } } });
});

after(async () => {
	if (sesd)
		await sesd.stop();
	if (pg)
		await pg.stop();
});

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const nowSec = () => Math.floor(Date.now() / 1000);

/* Checks the envelope every reply must have; returns Response. */
function envelope(r) {
	assert.equal(r.status, 200, `HTTP ${r.status}: ${r.body}`);
	assert.equal(r.headers['content-type'], 'application/json');
	assert.ok(r.json && typeof r.json.Response === 'object', `not an envelope: ${r.body}`);
	const resp = r.json.Response;
	assert.match(resp.RequestId, UUID_RE);
	assert.ok(!requestIds.has(resp.RequestId), `RequestId ${resp.RequestId} repeated`);
	requestIds.add(resp.RequestId);
	return resp;
}

/* One raw signed request as account A (index 0) of target, defaults overridable. */
async function raw(opts = {}, target = sesd, account = 0) {
	const acc = target.accounts[account];
	const r = await signedRequest({
		endpoint: target.endpoint,
		secretId: acc.secretId,
		secretKey: acc.secretKey,
		action: 'ListEmailTemplates',
		body: LIST,
		...opts,
	});
	return envelope(r);
}

async function rawOk(opts, target, account) {
	const resp = await raw(opts, target, account);
	assert.equal(resp.Error, undefined, `expected success: ${JSON.stringify(resp)}`);
	return resp;
}

async function rawCode(opts, code, target, account) {
	const resp = await raw(opts, target, account);
	assert.ok(resp.Error, `expected ${code}, got success: ${JSON.stringify(resp)}`);
	assert.equal(resp.Error.Code, code, `expected ${code}: ${JSON.stringify(resp)}`);
	assert.equal(typeof resp.Error.Message, 'string');
	assert.ok(resp.Error.Message.length > 0);
	/* on error, Response holds only Error and RequestId */
	assert.deepEqual(Object.keys(resp).sort(), ['Error', 'RequestId']);
	assert.deepEqual(Object.keys(resp.Error).sort(), ['Code', 'Message']);
	return resp;
}

async function sdkCode(promise, code) {
	const err = await expectCode(promise, code);
	assert.match(err.requestId, UUID_RE);
	return err;
}

/* ---------- TC3 authentication ---------- */

describe('TC3 signature failures', () => {
	test('a one-byte change to the body after signing -> SignatureFailure', async () => {
		await rawCode({ body: '{"Limit":10,"Offset":0}', sendBody: '{"Limit":10,"Offset":1}' },
			'AuthFailure.SignatureFailure');
		/* even when the tampered body is no longer valid JSON or adds a field */
		await rawCode({ body: '{"Limit":10,"Offset":0}', sendBody: '{"Limit":10,"Offset":0 ' },
			'AuthFailure.SignatureFailure');
		await rawCode({ body: '{"Limit":10,"Offset":0}', sendBody: '{"Limit":10,"Offset":0,"X":1}' },
			'AuthFailure.SignatureFailure');
		/* the same body unchanged passes */
		await rawOk({ body: '{"Limit":10,"Offset":0}' });
	});

	test('a changed signed header (Content-Type) -> SignatureFailure', async () => {
		const acc = sesd.accounts[0];
		const ts = nowSec();
		const body = '{"Limit":10,"Offset":0}';
		const signed = sign({ secretId: acc.secretId, secretKey: acc.secretKey, timestamp: ts, service: '127',
			body, headerValues: { 'content-type': 'application/json', host: '127.0.0.1' } });
		/* the signature is right for what was signed */
		await rawOk({ body, timestamp: ts, authorization: signed.authorization });
		await rawCode({ body, timestamp: ts, authorization: signed.authorization,
			contentType: 'application/json; charset=utf-8' }, 'AuthFailure.SignatureFailure');
		await rawCode({ body, timestamp: ts, authorization: signed.authorization, contentType: 'text/plain' },
			'AuthFailure.SignatureFailure');
		/* the signed Host changed */
		await rawCode({ body, timestamp: ts, authorization: signed.authorization, hostHeader: 'ses.example.com' },
			'AuthFailure.SignatureFailure');
	});

	test('an X-TC-Timestamp other than the signed one -> SignatureFailure', async () => {
		const ts = nowSec();
		await rawCode({ timestamp: ts, sendTimestamp: ts - 1 }, 'AuthFailure.SignatureFailure');
		await rawCode({ timestamp: ts, sendTimestamp: ts + 60 }, 'AuthFailure.SignatureFailure');
	});

	test('wrong key, wrong credential date, another action than signed -> SignatureFailure', async () => {
		await rawCode({ secretKey: 'x'.repeat(32) }, 'AuthFailure.SignatureFailure');
		/* credential date other than the UTC date of the timestamp */
		await rawCode({ date: '2001-01-01' }, 'AuthFailure.SignatureFailure');
		/* x-tc-action signed, then a different action sent */
		const acc = sesd.accounts[0];
		const ts = nowSec();
		const signed = sign({ secretId: acc.secretId, secretKey: acc.secretKey, timestamp: ts, service: '127',
			body: LIST, signedHeaderNames: ['content-type', 'host', 'x-tc-action'],
			headerValues: { 'content-type': 'application/json', host: '127.0.0.1', 'x-tc-action': 'GetEmailTemplate' } });
		await rawCode({ timestamp: ts, authorization: signed.authorization }, 'AuthFailure.SignatureFailure');
	});

	test('timestamp 301 s old or ahead, signed consistently -> SignatureExpire', async () => {
		const old = await rawCode({ timestamp: nowSec() - 301 }, 'AuthFailure.SignatureExpire');
		assert.match(old.Error.Message, /server time \d+/);
		await rawCode({ timestamp: nowSec() + 301 }, 'AuthFailure.SignatureExpire');
		await rawCode({ timestamp: nowSec() - 86400 * 3 }, 'AuthFailure.SignatureExpire');
		/* inside the window (with margin for a slow machine) it passes */
		await rawOk({ timestamp: nowSec() - 280 });
		await rawOk({ timestamp: nowSec() + 280 });
	});

	test('unknown SecretId -> SecretIdNotFound (raw and SDK)', async () => {
		await rawCode({ secretId: 'AKIDnobody00000000000000000000000000' }, 'AuthFailure.SecretIdNotFound');
		const client = sdkClient(sesd.endpoint, 0, { credential: { secretId: 'AKIDnobody', secretKey: 'k'.repeat(32) } });
		await sdkCode(client.ListEmailTemplates(LIST), 'AuthFailure.SecretIdNotFound');
	});

	test('wrong SecretKey through the SDK -> SignatureFailure', async () => {
		const client = sdkClient(sesd.endpoint, 0,
			{ credential: { secretId: sesd.accounts[0].secretId, secretKey: 'wrong'.repeat(8) } });
		await sdkCode(client.ListEmailTemplates(LIST), 'AuthFailure.SignatureFailure');
	});

	test('malformed or missing Authorization -> InvalidAuthorization', async () => {
		const acc = sesd.accounts[0];
		const good = sign({ secretId: acc.secretId, secretKey: acc.secretKey, timestamp: nowSec(), service: '127',
			body: LIST, headerValues: { 'content-type': 'application/json', host: '127.0.0.1' } }).authorization;
		const bad = [
			null, /* no header at all */
			'',
			'Bearer abc',
			good.replace('TC3-HMAC-SHA256', 'TC3-HMAC-SHA1'),
			good.replace(/, Signature=[0-9a-f]+/, ''),
			good.replace(/SignedHeaders=[^,]+, /, ''),
			good.replace('/tc3_request', '/tc2_request'),
			good.replace(/Signature=([0-9a-f]+)/, (m, s) => `Signature=${s.slice(0, 63)}`),
			good.replace(/Signature=([0-9a-f]+)/, (m, s) => `Signature=${s.toUpperCase()}`),
			`HmacSHA256 Signature=abc`,
		];
		for (const authorization of bad)
			await rawCode({ authorization }, 'AuthFailure.InvalidAuthorization');
	});

	test('X-TC-Token present -> TokenFailure', async () => {
		await rawCode({ extraHeaders: { 'X-TC-Token': 'sts-token-value' } }, 'AuthFailure.TokenFailure');
	});
});

/* ---------- what TC3 must accept ---------- */

describe('TC3 variants that must be accepted', () => {
	test('service in the credential scope: ses, 127, localhost', async () => {
		for (const service of ['ses', '127', 'localhost'])
			await rawOk({ service });
		/* Java with endpoint localhost:PORT signs service "localhost:PORT" and host with the port */
		const hp = `localhost:${sesd.port}`;
		await rawOk({ service: hp, hostHeader: hp, signedHost: hp });
	});

	test('signed host with and without the port, and the Host header with or without it', async () => {
		const hp = sesd.endpoint;
		await rawOk({ signedHost: '127.0.0.1' }); /* Node SDK */
		await rawOk({ signedHost: hp }); /* Go, Python, Java */
		await rawOk({ signedHost: '127.0.0.1', hostHeader: '127.0.0.1' });
		/* a name endpoint such as ses.mail.internal:port, signed un-lowered (Go with capitals) */
		await rawOk({ hostHeader: `SES.Mail.Internal:${sesd.port}`, signedHost: `SES.Mail.Internal:${sesd.port}`,
			lowercaseValues: false, service: 'ses' });
		await rawOk({ hostHeader: `ses.mail.internal:${sesd.port}`, signedHost: 'ses.mail.internal', service: 'ses' });
	});

	test('hand-written SignedHeaders with x-tc-action (and more) are accepted', async () => {
		await rawOk({ signedHeaderNames: ['content-type', 'host', 'x-tc-action'] });
		await rawOk({ signedHeaderNames: ['content-type', 'host', 'x-tc-action', 'x-tc-timestamp', 'x-tc-version'] });
		/* the x-tc-action value is lower-cased in the canonical headers, as documented */
		const r = await signedRequest({ endpoint: sesd.endpoint, secretId: sesd.accounts[0].secretId,
			secretKey: sesd.accounts[0].secretKey, action: 'ListEmailTemplates', body: LIST,
			signedHeaderNames: ['content-type', 'host', 'x-tc-action'] });
		assert.match(r.signed.canonicalRequest, /\nx-tc-action:listemailtemplates\n/);
		assert.equal(envelope(r).Error, undefined, r.body);
	});

	test('Content-Type application/json; charset=utf-8 is accepted', async () => {
		await rawOk({ contentType: 'application/json; charset=utf-8' });
		await rawOk({ contentType: 'application/json;charset=UTF-8' });
	});

	test('UNSIGNED-PAYLOAD is accepted (and then the body is not covered)', async () => {
		/* ses-api.md 2.2 step 6: sha256hex("UNSIGNED-PAYLOAD") replaces the body hash */
		const unsigned = (sendBody) => ({ unsignedPayload: true, sendBody });
		const resp = await rawOk(unsigned(LIST));
		assert.equal(resp.TotalCount, 0);
		await rawOk(unsigned({ Limit: 5, Offset: 0 }));
		await rawCode(unsigned({ Limit: 5, Offset: 0, Foo: 1 }), 'UnknownParameter');
		/* without the header the same signature does not cover this body */
		await rawCode({ unsignedPayload: true, sendBody: LIST, extraHeaders: { 'X-TC-Content-SHA256': null } },
			'AuthFailure.SignatureFailure');
	});

	test('the SDK over POST, with language and Java-style service', async () => {
		const r = await sdkClient(sesd).ListEmailTemplates(LIST);
		assert.equal(r.TotalCount, 0);
		assert.match(r.RequestId, UUID_RE);
		const zh = sdkClient(sesd, 0, { profile: { language: 'zh-CN' } });
		assert.equal((await zh.ListEmailTemplates(LIST)).TotalCount, 0);
	});
});

/* ---------- common headers and method ---------- */

describe('common parameters', () => {
	test('missing X-TC-Timestamp / Action / Region / Version -> MissingParameter', async () => {
		const cases = [
			['X-TC-Timestamp', /`Timestamp`/],
			['X-TC-Action', /`Action`/],
			['X-TC-Region', /`Region`/],
			['X-TC-Version', /`Version`/],
		];
		for (const [header, re] of cases) {
			const resp = await rawCode({ extraHeaders: { [header]: null } }, 'MissingParameter');
			assert.match(resp.Error.Message, re);
		}
		/* an empty region is missing too */
		await rawCode({ region: '' }, 'MissingParameter');
		/* the SDK leaves X-TC-Region out when the region is null */
		await sdkCode(sdkClient(sesd, 0, { region: null }).ListEmailTemplates(LIST), 'MissingParameter');
	});

	test('a non-numeric X-TC-Timestamp (signed as is) -> InvalidParameter', async () => {
		const date = new Date().toISOString().slice(0, 10);
		for (const timestamp of ['yesterday', '', '12abc', '-1', '1e9', ' '])
			await rawCode({ timestamp, date }, 'InvalidParameter');
	});

	test('wrong version -> NoSuchVersion', async () => {
		await rawCode({ version: '2019-01-01' }, 'NoSuchVersion');
		await rawCode({ version: '' }, 'NoSuchVersion');
	});

	test('unsupported region -> InvalidParameterValue; the three SES regions pass', async () => {
		const resp = await rawCode({ region: 'ap-beijing' }, 'InvalidParameterValue');
		assert.match(resp.Error.Message, /X-TC-Region/);
		await sdkCode(sdkClient(sesd, 0, { region: 'eu-frankfurt' }).ListEmailTemplates(LIST), 'InvalidParameterValue');
		for (const region of ['ap-guangzhou', 'ap-hongkong', 'ap-singapore'])
			await rawOk({ region });
	});

	test('unknown action -> InvalidAction', async () => {
		const resp = await rawCode({ action: 'NoSuchAction' }, 'InvalidAction');
		assert.match(resp.Error.Message, /NoSuchAction/);
		await rawCode({ action: 'listemailtemplates' }, 'InvalidAction'); /* exact spelling */
		await rawCode({ action: '' }, 'InvalidAction');
	});

	test('PUT and other methods -> UnsupportedProtocol', async () => {
		for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS'])
			await rawCode({ method }, 'UnsupportedProtocol');
	});

	test('body over [api] max_body -> RequestSizeLimitExceeded', async () => {
		/* exactly max_body bytes: past the size check (then an unknown field) */
		const mk = (n) => {
			const head = '{"Limit":10,"Offset":0,"Pad":"';
			return head + 'x'.repeat(n - head.length - 2) + '"}';
		};
		assert.equal(mk(MAX_BODY).length, MAX_BODY);
		await rawCode({ body: mk(MAX_BODY) }, 'UnknownParameter');
		await rawCode({ body: mk(MAX_BODY + 1) }, 'RequestSizeLimitExceeded');
		await rawCode({ body: mk(3 * MAX_BODY) }, 'RequestSizeLimitExceeded');
		/* the SDK sees the same code */
		await sdkCode(sdkClient(sesd).CreateEmailTemplate({ TemplateName: 'big',
			TemplateContent: { Text: b64('y'.repeat(3000)) } }), 'RequestSizeLimitExceeded');
	});
});

/* ---------- body and parameter checks ---------- */

describe('request body and parameter types', () => {
	test('non-JSON body, JSON array or scalar -> InvalidParameter', async () => {
		for (const body of ['not json', '', '[]', '[{"Limit":10,"Offset":0}]', '"x"', '42', 'null', 'true',
			'{"Limit":10,"Offset":0', '{"Limit":10,"Offset":0}}', '{"Limit":10,"Offset":0} {}',
			"{'Limit':10,'Offset':0}", '{"Limit":10,"Offset":0,}'])
			await rawCode({ body }, 'InvalidParameter');
	});

	test('invalid UTF-8, NUL, \\u0000 and lone surrogates in the body -> InvalidParameter', async () => {
		const name = (bytes) => Buffer.concat([Buffer.from('{"TemplateName":"'), Buffer.from(bytes),
			Buffer.from(`","TemplateContent":{"Text":"${b64('hi')}"}}`)]);
		for (const bytes of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x61, 0x00, 0x62],
			[0xe9]])
			await rawCode({ action: 'CreateEmailTemplate', body: name(bytes) }, 'InvalidParameter');
		for (const esc of ['a\\u0000b', '\\ud83d', '\\ude00', '\\ud83d\\u0041'])
			await rawCode({ action: 'CreateEmailTemplate', body: name(Buffer.from(esc)) }, 'InvalidParameter');
		/* a proper pair is fine and decodes to U+1F600 */
		const ok = await rawOk({ action: 'CreateEmailTemplate', body: name(Buffer.from('smile \\ud83d\\ude00')) });
		const got = await rawOk({ action: 'GetEmailTemplate', body: { TemplateID: ok.TemplateID } });
		assert.equal(got.TemplateName, 'smile \u{1F600}');
	});

	test('unknown field -> UnknownParameter (raw and SDK)', async () => {
		const resp = await rawCode({ body: { Limit: 10, Offset: 0, Foo: 1 } }, 'UnknownParameter');
		assert.match(resp.Error.Message, /`Foo`/);
		await rawCode({ body: { Limit: 10, Offset: 0, limit: 10 } }, 'UnknownParameter'); /* case-sensitive */
		await sdkCode(sdkClient(sesd).ListEmailTemplates({ ...LIST, Bar: 'x' }), 'UnknownParameter');
	});

	test('nested unknown field (TemplateContent.Foo) -> UnknownParameter', async () => {
		const body = { TemplateName: 'nested', TemplateContent: { Html: b64('<p>x</p>'), Foo: 'x' } };
		const resp = await rawCode({ action: 'CreateEmailTemplate', body }, 'UnknownParameter');
		assert.match(resp.Error.Message, /TemplateContent\.Foo/);
		await sdkCode(sdkClient(sesd).CreateEmailTemplate(body), 'UnknownParameter');
	});

	test('wrong JSON type -> InvalidParameter', async () => {
		const T = { Html: b64('<p>x</p>') };
		const cases = [
			['ListEmailTemplates', { Limit: '10', Offset: 0 }], /* string for Integer */
			['ListEmailTemplates', { Limit: 10.5, Offset: 0 }], /* not integral */
			['ListEmailTemplates', { Limit: 1e2, Offset: 0 }], /* JSON.stringify gives 100: fine, see below */
			['ListEmailTemplates', { Limit: true, Offset: 0 }],
			['ListEmailTemplates', { Limit: [10], Offset: 0 }],
			['ListEmailTemplates', { Limit: { v: 10 }, Offset: 0 }],
			['CreateEmailTemplate', { TemplateName: 5, TemplateContent: T }], /* number for String */
			['CreateEmailTemplate', { TemplateName: ['a'], TemplateContent: T }],
			['CreateEmailTemplate', { TemplateName: 'a', TemplateContent: [T] }], /* array for object */
			['CreateEmailTemplate', { TemplateName: 'a', TemplateContent: 'x' }],
			['CreateEmailTemplate', { TemplateName: 'a', TemplateContent: { Html: 1 } }], /* nested */
			['GetEmailTemplate', { TemplateID: '1' }],
			['CreateCustomBlacklist', { Emails: 'a@example.com' }], /* string for array */
			['CreateCustomBlacklist', { Emails: ['a@example.com', 5] }], /* array element */
		];
		for (const [action, body] of cases) {
			if (body.Limit === 100) {
				await rawOk({ action, body }); /* 1e2 serialises as 100 */
				continue;
			}
			await rawCode({ action, body }, 'InvalidParameter');
		}
		/* exponent and fraction forms in the raw text are not integers */
		await rawCode({ body: '{"Limit":1e1,"Offset":0}' }, 'InvalidParameter');
		await rawCode({ body: '{"Limit":10.0,"Offset":0}' }, 'InvalidParameter');
		await rawCode({ body: '{"Limit":99999999999999999999,"Offset":0}' }, 'InvalidParameter');
		await sdkCode(sdkClient(sesd).ListEmailTemplates({ Limit: '10', Offset: 0 }), 'InvalidParameter');
	});

	test('missing required field -> MissingParameter; explicit null counts as absent', async () => {
		const resp = await rawCode({ body: { Offset: 0 } }, 'MissingParameter');
		assert.match(resp.Error.Message, /`Limit`/);
		await rawCode({ body: { Limit: null, Offset: 0 } }, 'MissingParameter');
		await rawCode({ body: {} }, 'MissingParameter');
		await rawCode({ action: 'CreateEmailTemplate', body: { TemplateName: 'x' } }, 'MissingParameter');
		await sdkCode(sdkClient(sesd).ListEmailTemplates({ Offset: 0 }), 'MissingParameter');
		/* null for an optional field is fine */
		await rawOk({ action: 'CreateEmailTemplate',
			body: { TemplateName: 'nulls', TemplateContent: { Html: null, Text: b64('t') } } });
	});

	test('Limit 101 (or 0, or negative Offset) -> FailedOperation.InvalidLimit', async () => {
		await rawCode({ body: { Limit: 101, Offset: 0 } }, 'FailedOperation.InvalidLimit');
		await rawCode({ body: { Limit: 0, Offset: 0 } }, 'FailedOperation.InvalidLimit');
		await rawCode({ body: { Limit: 10, Offset: -1 } }, 'FailedOperation.InvalidLimit');
		await sdkCode(sdkClient(sesd).ListEmailTemplates({ Limit: 101, Offset: 0 }), 'FailedOperation.InvalidLimit');
		await rawOk({ body: { Limit: 100, Offset: 0 } });
		await rawOk({ body: { Limit: 1, Offset: 1000000 } });
	});
});

/* ---------- GET ---------- */

describe('GET with query-string parameters', () => {
	const html = '<p>Hi {{name}}, your code: {{code}} ~~~???>>></p>';

	test('the SDK with reqMethod GET answers the same as POST', async () => {
		const post = sdkClient(sesd);
		const get = sdkClient(sesd, 0, { httpProfile: { reqMethod: 'GET' } });
		/* base64 with '+' and '/' must survive URL encoding */
		assert.match(b64(html), /[+/]/);
		const created = await get.CreateEmailTemplate({ TemplateName: '\u6a21\u677f GET & = + %',
			TemplateContent: { Html: b64(html), Text: b64('plain {{name}}') } });
		assert.equal(typeof created.TemplateID, 'number');
		const viaPost = await post.GetEmailTemplate({ TemplateID: created.TemplateID });
		const viaGet = await get.GetEmailTemplate({ TemplateID: created.TemplateID });
		delete viaPost.RequestId;
		delete viaGet.RequestId;
		assert.deepEqual(viaGet, viaPost);
		assert.equal(viaGet.TemplateName, '\u6a21\u677f GET & = + %');
		assert.equal(viaGet.TemplateContent.Html, b64(html));
		assert.equal(viaGet.TemplateContent.Text, b64('plain {{name}}'));

		const lp = await post.ListEmailTemplates({ Limit: 100, Offset: 0 });
		const lg = await get.ListEmailTemplates({ Limit: 100, Offset: 0 });
		assert.ok(lp.TotalCount >= 1);
		delete lp.RequestId;
		delete lg.RequestId;
		assert.deepEqual(lg, lp);

		/* errors come back the same way */
		await sdkCode(get.ListEmailTemplates({ Limit: 101, Offset: 0 }), 'FailedOperation.InvalidLimit');
		await sdkCode(get.ListEmailTemplates({ Limit: 10, Offset: 0, Foo: 1 }), 'UnknownParameter');
		await sdkCode(get.CreateEmailTemplate({ TemplateName: 'x', TemplateContent: { Html: b64('x'), Foo: 'y' } }),
			'UnknownParameter');
	});

	test('raw GET: flattened nested and array parameters, coercion by the schema', async () => {
		const get = (query, action = 'ListEmailTemplates') => ({ method: 'GET', action, query, body: undefined,
			contentType: 'application/x-www-form-urlencoded' });
		const list = await rawOk(get('Limit=100&Offset=0'));
		const listPost = await rawOk({ body: { Limit: 100, Offset: 0 } });
		assert.deepEqual(list.TemplatesMetadata, listPost.TemplatesMetadata);
		assert.equal(list.TotalCount, listPost.TotalCount);

		const q = `TemplateName=raw%20get&TemplateContent.Html=${encodeURIComponent(b64(html))}` +
			`&TemplateContent.Text=${encodeURIComponent(b64('t'))}`;
		const created = await rawOk(get(q, 'CreateEmailTemplate'));
		const got = await rawOk({ action: 'GetEmailTemplate', body: { TemplateID: created.TemplateID } });
		assert.equal(got.TemplateName, 'raw get');
		assert.equal(got.TemplateContent.Html, b64(html));

		/* arrays: Emails.0 ... Emails.11, sent out of order; index 10 sorts after 9 */
		const emails = Array.from({ length: 12 }, (_, i) => `get${i}@example.com`);
		const order = [11, 3, 0, 10, 1, 2, 9, 4, 5, 6, 7, 8];
		const aq = order.map((i) => `Emails.${i}=${encodeURIComponent(emails[i])}`).join('&');
		const bl = await rawOk(get(aq, 'CreateCustomBlacklist'));
		assert.equal(bl.TotalCount, 12, JSON.stringify(bl));
		assert.equal(bl.ValidCount, 12, JSON.stringify(bl));

		/* types come from the schema: a non-numeric Integer stays a string */
		await rawCode(get('Limit=ten&Offset=0'), 'InvalidParameter');
		await rawCode(get('Limit=101&Offset=0'), 'FailedOperation.InvalidLimit');
		await rawCode(get('Offset=0'), 'MissingParameter');
		await rawCode(get('Limit=10&Offset=0&Nope=1'), 'UnknownParameter');
		/* a tampered query string breaks the signature */
		const acc = sesd.accounts[0];
		const ts = nowSec();
		const signed = sign({ secretId: acc.secretId, secretKey: acc.secretKey, timestamp: ts, service: '127',
			method: 'GET', query: 'Limit=10&Offset=0', body: '',
			headerValues: { 'content-type': 'application/x-www-form-urlencoded', host: '127.0.0.1' } });
		await rawOk({ ...get('Limit=10&Offset=0'), timestamp: ts, authorization: signed.authorization });
		await rawCode({ ...get('Limit=10&Offset=1'), timestamp: ts, authorization: signed.authorization },
			'AuthFailure.SignatureFailure');
	});

	test('raw GET: percent-encoded invalid UTF-8 or NUL -> InvalidParameter', async () => {
		const get = (query) => ({ method: 'GET', action: 'CreateEmailTemplate', body: undefined,
			contentType: 'application/x-www-form-urlencoded', query });
		const tail = `&TemplateContent.Text=${encodeURIComponent(b64('t'))}`;
		for (const bad of ['%FF', '%C0%AF', '%ED%A0%80', 'a%00b'])
			await rawCode(get(`TemplateName=${bad}${tail}`), 'InvalidParameter');
		/* proper percent-encoded UTF-8 is fine */
		const ok = await rawOk(get(`TemplateName=${encodeURIComponent('\u00e9t\u00e9 \u{1F600}')}${tail}`));
		const got = await rawOk({ action: 'GetEmailTemplate', body: { TemplateID: ok.TemplateID } });
		assert.equal(got.TemplateName, '\u00e9t\u00e9 \u{1F600}');
	});
});

/* ---------- envelope ---------- */

test('every reply is HTTP 200, Content-Type application/json, with a UUID RequestId', async () => {
	/* raw() already checks this on every call above; here a mix, and distinct ids */
	const before = requestIds.size;
	await Promise.all([
		rawOk(),
		rawCode({ action: 'Nope' }, 'InvalidAction'),
		rawCode({ method: 'PUT' }, 'UnsupportedProtocol'),
		rawCode({ authorization: 'x' }, 'AuthFailure.InvalidAuthorization'),
		rawCode({ body: 'x' }, 'InvalidParameter'),
	]);
	assert.equal(requestIds.size, before + 5);
	/* an HTTP path other than / gets the same envelope (the path is signed) */
	const r = await signedRequest({ endpoint: sesd.endpoint, secretId: sesd.accounts[0].secretId,
		secretKey: sesd.accounts[0].secretKey, action: 'ListEmailTemplates', body: LIST, path: '/v3/' });
	envelope(r);
});

/* ---------- rate limit ---------- */

describe('rate limit', () => {
	let sr;
	before(async () => {
		sr = await startSesd({ pg, conf: { api: { rate_limit: 5 } } });
	});
	after(async () => {
		if (sr)
			await sr.stop();
	});

	test('12 quick calls: some RequestLimitExceeded; other SecretId and other action unaffected', async () => {
		const a = sdkClient(sr, 0);
		const b = sdkClient(sr, 1);
		/* start just after a second boundary so the burst most likely shares one window */
		while (Date.now() % 1000 > 50)
			await sleep(5);
		const results = await Promise.allSettled(Array.from({ length: 12 }, () => a.ListEmailTemplates(LIST)));
		const ok = results.filter((r) => r.status === 'fulfilled').length;
		const limited = results.filter((r) => r.status === 'rejected');
		for (const r of limited)
			assert.equal(r.reason.code, 'RequestLimitExceeded', String(r.reason && r.reason.stack));
		assert.ok(limited.length >= 1, `no call was limited (${ok} ok)`);
		/* at most 5 per one-second window; the burst spans at most two */
		assert.ok(ok >= 5 && ok <= 10, `${ok} calls allowed`);
		assert.match(limited[0].reason.message, /frequency limit `5`/);

		/* in the same second: another SecretId, and another action of the same SecretId */
		const [rb, rc] = await Promise.allSettled([
			b.ListEmailTemplates(LIST),
			a.CreateEmailTemplate({ TemplateName: 'rate', TemplateContent: { Text: b64('x') } }),
		]);
		assert.equal(rb.status, 'fulfilled', String(rb.reason && rb.reason.message));
		assert.equal(rc.status, 'fulfilled', String(rc.reason && rc.reason.message));

		/* the raw signer sees the exact code in the envelope too */
		const rawResults = await Promise.all(Array.from({ length: 8 }, () => raw({}, sr, 0)));
		const codes = rawResults.map((r) => (r.Error ? r.Error.Code : 'ok'));
		assert.ok(codes.includes('RequestLimitExceeded'), codes.join(','));
		assert.ok(codes.every((c) => c === 'ok' || c === 'RequestLimitExceeded'), codes.join(','));

		/* the next windows allow calls again */
		await sleep(1100);
		await a.ListEmailTemplates(LIST);
	});

	test('a steady 4 calls per second is never limited', async () => {
		const a = sdkClient(sr, 1);
		await sleep(1100);
		for (let i = 0; i < 8; i++) {
			await a.GetEmailTemplate({ TemplateID: 999999999 }).catch((e) => {
				assert.equal(e.code, 'InvalidParameterValue.TemplateNotExist', e.message);
			});
			await sleep(260);
		}
	});
});

/* ---------- slow clients ---------- */

/* Opens a socket, writes text, and resolves with ms until the server closed it (null: not
 * within limitMs). */
function closedAfter(port, text, limitMs) {
	return new Promise((resolve, reject) => {
		const s = net.connect({ port, host: '127.0.0.1' });
		let t0;
		let timer;
		s.on('error', () => {}); /* a reset also counts as closed */
		s.on('data', () => {});
		s.once('connect', () => {
			t0 = Date.now();
			if (text)
				s.write(text);
			timer = setTimeout(() => {
				s.destroy();
				resolve(null);
			}, limitMs);
		});
		s.once('close', () => {
			clearTimeout(timer);
			if (t0 === undefined)
				reject(new Error('could not connect'));
			else
				resolve(Date.now() - t0);
		});
	});
}

test('a slow client is disconnected after [api] timeout (2 s), others are served meanwhile', async () => {
	const half = closedAfter(sesd.port, 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl', 10000);
	const idle = closedAfter(sesd.port, '', 10000);
	const body = closedAfter(sesd.port, 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
		'Content-Length: 100\r\n\r\n{"Limit":', 10000);
	/* the loop is not blocked by them */
	await sleep(300);
	await rawOk();
	for (const [what, p] of [['half headers', half], ['idle', idle], ['half body', body]]) {
		const ms = await p;
		assert.ok(ms !== null, `${what}: still open after 10 s`);
		assert.ok(ms >= 1500, `${what}: closed after only ${ms} ms`);
		assert.ok(ms <= 6000, `${what}: closed after ${ms} ms`);
	}
	await rawOk();
});

/* ---------- SIGHUP ---------- */

describe('SIGHUP reload', () => {
	let sh;
	const third = { secretId: 'AKIDtestC000000000000000000000000003', secretKey: randomAlnum(32), appId: 1000003 };
	before(async () => {
		sh = await startSesd({ pg, conf: { api: { rate_limit: 0 } } });
	});
	after(async () => {
		if (sh)
			await sh.stop();
	});

	const clientFor = (acc) => sdkClient(sh.endpoint, 0, { credential: { secretId: acc.secretId, secretKey: acc.secretKey } });

	test('a new credentials file takes effect; requests during the reload are not dropped', async () => {
		const [accA, accB] = sh.accounts;
		await sdkCode(clientFor(third).ListEmailTemplates(LIST), 'AuthFailure.SecretIdNotFound');
		const a = clientFor(accA);
		const calls = [];
		for (let i = 0; i < 40; i++) {
			calls.push(a.ListEmailTemplates(LIST));
			if (i === 15) {
				sh.writeCredentials([accA, accB, third]);
				sh.reload();
			}
			if (i % 5 === 0)
				await sleep(5);
		}
		const settled = await Promise.allSettled(calls);
		const failed = settled.filter((r) => r.status !== 'fulfilled');
		assert.equal(failed.length, 0, failed.map((r) => r.reason && r.reason.message).join('\n'));
		await sh.waitForLog(/configuration reloaded from .* \(3 credentials\)/);
		const r = await clientFor(third).ListEmailTemplates(LIST);
		assert.equal(r.TotalCount, 0); /* a fresh account */
		await clientFor(accB).ListEmailTemplates(LIST);
		assert.equal(sh.exitStatus, null);
		assert.ok(sh.group().includes(sh.pid));

		/* a key taken out of the file stops working at the next reload */
		sh.writeCredentials([accA, third]);
		sh.reload();
		await sh.waitForLog(/configuration reloaded from .* \(2 credentials\)/);
		await sdkCode(clientFor(accB).ListEmailTemplates(LIST), 'AuthFailure.SecretIdNotFound');
		sh.writeCredentials([accA, accB, third]);
		sh.reload();
		await sh.waitForLog(/\(3 credentials\)[^]*\(2 credentials\)[^]*\(3 credentials\)/);
	});

	test('a broken config or credentials file keeps the running configuration', async () => {
		const [accA] = sh.accounts;
		const errorsBefore = (sh.log().match(/keeping the running configuration/g) || []).length;

		sh.writeConf({ api: { no_such_key: 1 } });
		sh.reload();
		await sh.waitForLog(new RegExp(`(keeping the running configuration[^]*){${errorsBefore + 1}}`));
		assert.match(sh.log(), /ERROR .*sesd\.conf:\d+: unknown key "no_such_key" in \[api\]; keeping the running configuration/);
		await clientFor(accA).ListEmailTemplates(LIST);
		await clientFor(third).ListEmailTemplates(LIST);

		/* a broken credentials line: also refused as a whole */
		sh.writeConf({ api: { no_such_key: null } });
		fs.writeFileSync(sh.credentialsPath, `${accA.secretId} ${accA.secretKey} 1000001\nthis line is broken\n`,
			{ mode: 0o600 });
		sh.reload();
		await sh.waitForLog(new RegExp(`(keeping the running configuration[^]*){${errorsBefore + 2}}`));
		await clientFor(third).ListEmailTemplates(LIST); /* old credentials still in force */
		assert.equal(sh.exitStatus, null);

		/* fixed again: reload works */
		sh.writeCredentials(sh.accounts);
		sh.reload();
		await sh.waitForLog(/configuration reloaded[^]*configuration reloaded[^]*configuration reloaded[^]*configuration reloaded/);
		await clientFor(accA).ListEmailTemplates(LIST);
	});
});

/* ---------- sesd -n ---------- */

test('sesd -n: "configuration OK" and 0, or FILE:LINE and 1', () => {
	const ok = spawnSync(SESD_BIN, ['-n', '-c', sesd.confPath], { encoding: 'utf8' });
	assert.equal(ok.status, 0, ok.stderr);
	assert.equal(ok.stdout, 'configuration OK\n');

	/* the running conf without its rate_limit and timeout lines, so that a bad one can go in */
	const lines = fs.readFileSync(sesd.confPath, 'utf8').split('\n').filter((l) => !/^(rate_limit|timeout) =/.test(l));
	const at = lines.indexOf('[api]');
	assert.ok(at >= 0);
	const badPath = path.join(sesd.dir, 'bad.conf');
	for (const [line, msg] of [['bogus_key = 1', /unknown key "bogus_key"/], ['rate_limit = -1', /rate_limit/],
		['timeout = soon', /timeout/], ['no equals sign', /key = value/]]) {
		const copy = [...lines];
		copy.splice(at + 2, 0, line);
		const text = copy.join('\n');
		fs.writeFileSync(badPath, text);
		const lineNo = at + 3;
		assert.equal(text.split('\n')[lineNo - 1], line);
		const r = spawnSync(SESD_BIN, ['-n', '-c', badPath], { encoding: 'utf8' });
		assert.equal(r.status, 1, `${line}: ${r.stdout}${r.stderr}`);
		assert.ok(r.stderr.includes(`${badPath}:${lineNo}:`), `${line}: want ${badPath}:${lineNo}: in ${r.stderr}`);
		assert.match(r.stderr, msg);
		assert.doesNotMatch(r.stdout, /configuration OK/);
	}
	const missing = spawnSync(SESD_BIN, ['-n', '-c', path.join(sesd.dir, 'nope.conf')], { encoding: 'utf8' });
	assert.equal(missing.status, 1);
	assert.match(missing.stderr, /nope\.conf/);
});

/* ---------- schema version ---------- */

test('sesd refuses to start against a database at another schema version', async () => {
	pg.psql('CREATE DATABASE sesd_schema', 'postgres');
	const dir = fs.mkdtempSync('/tmp/sesd-schema-');
	try {
		const creds = path.join(dir, 'credentials');
		fs.writeFileSync(creds, `AKIDschema secret${randomAlnum(20)} 1\n`, { mode: 0o600 });
		const conf = path.join(dir, 'sesd.conf');
		fs.writeFileSync(conf, iniText({
			sesd: { credentials_file: creds },
			database: { conninfo: pg.conninfo.replace('dbname=sesd', 'dbname=sesd_schema') },
			api: { listen: `127.0.0.1:${await freePort()}` },
		}));
		const run = (args) => spawnSync(SESD_BIN, [...args, '-c', conf], { encoding: 'utf8', timeout: 30000 });
		const m = run(['--migrate']);
		assert.equal(m.status, 0, m.stderr);
		const want = Number(pg.psql('SELECT max(version) FROM schema_version', 'sesd_schema'));
		assert.ok(want >= 1);

		pg.psql('INSERT INTO schema_version (version, name) VALUES (99, \'future\')', 'sesd_schema');
		let r = run([]);
		assert.notEqual(r.status, 0, `started against version 99: ${r.stderr}`);
		assert.equal(r.signal, null, 'killed by the timeout: it did not refuse');
		assert.match(r.stderr, new RegExp(`\\b99\\b[^\\n]*\\b${want}\\b`), r.stderr);
		/* --migrate does not touch a newer schema either */
		r = run(['--migrate']);
		assert.notEqual(r.status, 0);
		assert.match(r.stderr, new RegExp(`\\b99\\b[^\\n]*\\b${want}\\b`), r.stderr);

		pg.psql('DELETE FROM schema_version', 'sesd_schema');
		r = run([]);
		assert.notEqual(r.status, 0, `started against version 0: ${r.stderr}`);
		assert.equal(r.signal, null);
		assert.match(r.stderr, new RegExp(`version 0\\b[^\\n]*\\b${want}\\b`), r.stderr);
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});
