'use strict';
/*
 * web.test.js: the unsubscribe pages on [web] listen (daemon/web.c, DESIGN.md section 6,
 * RFC 8058). Tokens are made here by an independent implementation of the layout that
 * daemon/unsub.h documents (version byte, app, task, length-prefixed domain and recipient,
 * 16 bytes of HMAC-SHA256 over "sesd-unsub" || payload, base64url), never by sesd itself.
 *
 * GET shows a localized confirmation page with a button and never suppresses; POST with the
 * RFC 8058 body (urlencoded or multipart, or the page's own form) suppresses the token's
 * recipient for its sender domain, answers 200 without a redirect, and is idempotent. Bad
 * tokens get 400, other methods 405, other paths 404, a database outage 503; the key is
 * re-read on SIGHUP; no token ever reaches the log.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const { startPg, startSesd, sleep } = require('./lib/stack');

const APP_A = 1000001;
const APP_B = 1000002;

let pg;
let sesd;
const tokensUsed = [];

before(async () => {
	pg = await startPg();
	sesd = await startSesd({ pg, conf: { database: { reconnect_interval: 1 } } });
});

after(async () => {
	if (sesd)
		await sesd.stop();
	if (pg)
		await pg.stop();
});

/* ---------- helpers ---------- */

/* The token of daemon/unsub.h, version 1. */
function makeToken({ app = APP_A, task = 42, domain = 'example.com', rcpt = 'user@example.org' } = {},
	key = sesd.unsubscribeKey) {
	const d = Buffer.from(domain, 'utf8');
	const r = Buffer.from(rcpt, 'utf8');
	const payload = Buffer.alloc(1 + 8 + 8 + 1 + d.length + 1 + r.length);
	let at = 0;
	payload[at++] = 1;
	payload.writeBigUInt64BE(BigInt(app), at);
	at += 8;
	payload.writeBigUInt64BE(BigInt(task), at);
	at += 8;
	payload[at++] = d.length;
	d.copy(payload, at);
	at += d.length;
	payload[at++] = r.length;
	r.copy(payload, at);
	const mac = crypto.createHmac('sha256', key).update(Buffer.concat([Buffer.from('sesd-unsub'), payload]))
		.digest().subarray(0, 16);
	const token = Buffer.concat([payload, mac]).toString('base64url');
	tokensUsed.push(token);
	return token;
}

function url(token, lang) {
	let q = token === undefined ? '' : `?t=${token}`;
	if (lang !== undefined)
		q += `${q ? '&' : '?'}l=${lang}`;
	return `/unsubscribe${q}`;
}

/* One plain HTTP/1.1 request to the web listener; resolves { status, headers, body }. */
function request(method, path, { body, headers = {} } = {}) {
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port: sesd.webPort, method, path, headers: {
			...(body !== undefined ? { 'Content-Length': Buffer.byteLength(body) } : {}), ...headers,
		}, agent: false }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
				body: Buffer.concat(chunks).toString('utf8') }));
		});
		req.setTimeout(15000, () => req.destroy(new Error(`${method} ${path}: timeout`)));
		req.on('error', reject);
		if (body !== undefined)
			req.write(body);
		req.end();
	});
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const oneClick = (token, lang, extra = {}) => request('POST', url(token, lang),
	{ body: 'List-Unsubscribe=One-Click', headers: { ...FORM, ...extra } });

function multipartBody(boundary, fields) {
	let s = '';
	for (const [name, value] of fields)
		s += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
	return `${s}--${boundary}--\r\n`;
}

function rows(where = 'true') {
	const out = pg.psql(`SELECT app_id, reason, coalesce(domain, '<null>'), email, detail, expire_date IS NULL
		FROM suppressions WHERE ${where} ORDER BY id`);
	return out === '' ? [] : out.split('\n').map((l) => l.split('|'));
}

function count(where = 'true') {
	return Number(pg.psql(`SELECT count(*) FROM suppressions WHERE ${where}`));
}

const sqlStr = (s) => `'${s.replace(/'/g, "''")}'`;

function assertSecurityHeaders(r) {
	assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
	const csp = r.headers['content-security-policy'];
	assert.ok(csp, 'Content-Security-Policy is set');
	assert.match(csp, /default-src 'none'/);
	assert.match(csp, /style-src 'unsafe-inline'/);
	assert.match(csp, /form-action 'self'/);
	assert.match(csp, /frame-ancestors 'none'/);
	assert.equal(r.headers['x-content-type-options'], 'nosniff');
	assert.equal(r.headers['referrer-policy'], 'no-referrer');
	assert.equal(r.headers['cache-control'], 'no-store');
	assert.equal(r.headers['x-frame-options'], 'DENY');
	assert.equal(r.headers.location, undefined, 'never a redirect');
}

/*
 * A strict check that the page is well-formed HTML of the shape sesd writes: the doctype
 * first, every non-void element closed in order, one html/head/title/body/main/h1, text free
 * of raw '<', '>' and unescaped '&', attributes double-quoted, no script anywhere.
 */
const VOID = new Set(['meta', 'input', 'br']);
function assertWellFormed(html) {
	assert.ok(html.startsWith('<!DOCTYPE html>\n'), 'doctype first');
	const rest = html.slice('<!DOCTYPE html>\n'.length);
	const stack = [];
	const seen = {};
	const re = /<(\/?)([a-z][a-z0-9]*)((?:\s+[a-z-]+="[^"<>]*")*)\s*>|([^<]+)/gy;
	let m;
	let last = 0;
	while ((m = re.exec(rest)) !== null) {
		last = re.lastIndex;
		if (m[4] !== undefined) {
			assert.doesNotMatch(m[4], />/, `raw '>' in text ${JSON.stringify(m[4])}`);
			assert.doesNotMatch(m[4], /&(?!(amp|lt|gt|quot|#39);)/, `raw '&' in text ${JSON.stringify(m[4])}`);
			if (!/^\s*$/.test(m[4]))
				assert.ok(stack.length > 0, 'text outside <html>');
			continue;
		}
		const [, close, name] = m;
		assert.notEqual(name, 'script', 'no script');
		if (close) {
			assert.equal(stack.pop(), name, `</${name}> closes what was opened`);
		} else {
			seen[name] = (seen[name] || 0) + 1;
			if (!VOID.has(name))
				stack.push(name);
		}
	}
	assert.equal(last, rest.length, `unparsed HTML at ${JSON.stringify(rest.slice(last, last + 40))}`);
	assert.deepEqual(stack, [], 'every element is closed');
	for (const one of ['html', 'head', 'title', 'body', 'main', 'h1', 'style'])
		assert.equal(seen[one], 1, `exactly one <${one}>`);
	assert.match(html, /<meta charset="utf-8">/);
}

/* The form of a confirmation page: posts to its own URL (no action) the one-click field. */
function formOf(html) {
	const m = /<form method="post">\n<input type="hidden" name="([^"]+)" value="([^"]+)">\n<button type="submit">([^<]+)<\/button>\n<\/form>/.exec(html);
	assert.ok(m, `a POST form with one hidden field and a button:\n${html}`);
	assert.doesNotMatch(html, /action=/, 'the form posts to the page itself');
	return { name: m[1], value: m[2], button: m[3] };
}

/* ---------- tests ---------- */

test('GET shows the English confirmation page and never suppresses, however often', async () => {
	const token = makeToken({ domain: 'news.example.com', rcpt: 'reader@example.org', task: 7 });
	for (let i = 0; i < 3; i++) {
		const r = await request('GET', url(token));
		assert.equal(r.status, 200, r.body);
		assertSecurityHeaders(r);
		assert.equal(r.headers['content-language'], 'en');
		assertWellFormed(r.body);
		assert.match(r.body, /<html lang="en" dir="ltr">/);
		assert.match(r.body, /<title>Unsubscribe<\/title>/);
		assert.match(r.body, /<h1>Unsubscribe<\/h1>/);
		assert.ok(r.body.includes('Click the button below to stop receiving emails from '
			+ '<bdi>news.example.com</bdi> at <bdi>reader@example.org</bdi>.'), r.body);
		const form = formOf(r.body);
		assert.deepEqual(form, { name: 'List-Unsubscribe', value: 'One-Click', button: 'Unsubscribe' });
	}
	assert.equal(count(), 0, 'GET never unsubscribes');
});

test('POST one-click suppresses exactly the token\'s recipient for its domain, idempotently', async () => {
	const token = makeToken({ app: APP_A, task: 42, domain: 'Mail.Example.COM', rcpt: 'Alice@Example.org' });
	const r = await oneClick(token);
	assert.equal(r.status, 200, r.body);
	assertSecurityHeaders(r);
	assertWellFormed(r.body);
	assert.ok(r.body.includes('You have been unsubscribed. <bdi>Alice@Example.org</bdi> will no longer '
		+ 'receive emails from <bdi>Mail.Example.COM</bdi>.'), r.body);
	assert.doesNotMatch(r.body, /<form/, 'the done page has no button');
	const where = `email = 'Alice@Example.org'`;
	assert.deepEqual(rows(where), [[String(APP_A), 'unsubscribe', 'mail.example.com', 'Alice@Example.org', 'task 42', 't']]);

	/* again, the same token and one with another case of the address: still one row */
	for (const t of [token, makeToken({ app: APP_A, task: 43, domain: 'mail.example.com', rcpt: 'alice@example.org' })]) {
		const again = await oneClick(t);
		assert.equal(again.status, 200, again.body);
		assert.match(again.body, /You have been unsubscribed/);
	}
	assert.equal(count(`lower(email) = 'alice@example.org'`), 1);
	await sesd.waitForLog(/web: unsubscribe app=1000001 task=43 domain=mail\.example\.com: already suppressed/);
	assert.match(sesd.log(), /web: unsubscribe app=1000001 task=42 domain=Mail\.Example\.COM: suppressed/);
});

test('the suppression belongs to the token\'s account and sender domain only', async () => {
	const rcpt = 'shared@example.net';
	for (const [app, domain] of [[APP_A, 'a.example.com'], [APP_B, 'a.example.com'], [APP_A, 'b.example.com']]) {
		const r = await oneClick(makeToken({ app, domain, rcpt }));
		assert.equal(r.status, 200, r.body);
	}
	assert.deepEqual(rows(`email = ${sqlStr(rcpt)}`).map((r) => [r[0], r[2]]), [
		[String(APP_A), 'a.example.com'], [String(APP_B), 'a.example.com'], [String(APP_A), 'b.example.com'],
	]);
	/* a custom blacklist row for the same address is a different entry, left alone */
	pg.psql(`INSERT INTO suppressions (app_id, reason, domain, email) VALUES (${APP_A}, 'custom', NULL, 'listed@example.net')`);
	const r = await oneClick(makeToken({ app: APP_A, domain: 'a.example.com', rcpt: 'listed@example.net' }));
	assert.equal(r.status, 200);
	assert.deepEqual(rows(`email = 'listed@example.net'`).map((x) => [x[1], x[2]]),
		[['custom', '<null>'], ['unsubscribe', 'a.example.com']]);
});

test('RFC 8058 bodies: multipart/form-data, charset parameters, the page\'s own form', async () => {
	/* multipart, as some mailbox providers send it, with a quoted boundary and another field */
	const t1 = makeToken({ rcpt: 'multi@example.org' });
	const boundary = '----sesdBoundary7MA4YWxk';
	const r1 = await request('POST', url(t1), {
		body: multipartBody(boundary, [['other', 'x'], ['List-Unsubscribe', 'One-Click']]),
		headers: { 'Content-Type': `multipart/form-data; boundary="${boundary}"` },
	});
	assert.equal(r1.status, 200, r1.body);
	assert.equal(count(`email = 'multi@example.org'`), 1);

	/* urlencoded with a charset and other fields around it */
	const t2 = makeToken({ rcpt: 'charset@example.org' });
	const r2 = await request('POST', url(t2), { body: 'a=1&List-Unsubscribe=One-Click&b=2',
		headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' } });
	assert.equal(r2.status, 200, r2.body);
	assert.equal(count(`email = 'charset@example.org'`), 1);

	/* what a browser sends for the page's form: its fields, urlencoded, to the page's URL */
	const t3 = makeToken({ rcpt: 'browser@example.org' });
	const page = await request('GET', url(t3, '6'));
	const form = formOf(page.body);
	const body = new URLSearchParams([[form.name, form.value]]).toString();
	const r3 = await request('POST', url(t3, '6'), { body, headers: FORM });
	assert.equal(r3.status, 200, r3.body);
	assert.match(r3.body, /Sie wurden erfolgreich abgemeldet\./);
	assert.equal(count(`email = 'browser@example.org'`), 1);
});

test('a POST without the one-click field is refused and suppresses nothing', async () => {
	const token = makeToken({ rcpt: 'nobody-clicked@example.org' });
	const cases = [
		{},
		{ body: '', headers: FORM },
		{ body: 'List-Unsubscribe=Yes', headers: FORM },
		{ body: 'List-Unsubscribe=One-Click-Extra', headers: FORM },
		{ body: 'X-List-Unsubscribe=One-Click', headers: FORM },
		{ body: multipartBody('b0und', [['List-Unsubscribe', 'Nope']]), headers: { 'Content-Type': 'multipart/form-data; boundary=b0und' } },
		{ body: multipartBody('b0und', [['List-Unsubscribe', 'One-Click']]), headers: { 'Content-Type': 'multipart/form-data; boundary=other' } },
		{ body: multipartBody('b0und', [['List-Unsubscribe', 'One-Click']]), headers: { 'Content-Type': 'multipart/form-data' } },
	];
	for (const c of cases) {
		const r = await request('POST', url(token), c);
		assert.equal(r.status, 400, `${JSON.stringify(c)}: ${r.body}`);
		assertSecurityHeaders(r);
		assertWellFormed(r.body);
		formOf(r.body); /* the button is offered again */
	}
	assert.equal(count(`email = 'nobody-clicked@example.org'`), 0);
});

test('tampered, foreign-key, missing and malformed tokens get the localized 400 page', async () => {
	const before = count();
	const good = makeToken({ rcpt: 'victim@example.org' });
	const raw = Buffer.from(good, 'base64url');
	const flip = (i) => {
		const b = Buffer.from(raw);
		b[i] ^= 0x01;
		return b.toString('base64url');
	};
	const other = makeToken({ rcpt: 'victim@example.org' }, crypto.randomBytes(32));
	const bad = [
		flip(3),                          /* app id */
		flip(raw.length - 30),            /* recipient */
		flip(raw.length - 1),             /* MAC */
		other,                            /* made with another key */
		good.slice(0, -1),                /* cut short */
		`${good}A`,                       /* one character more */
		`${good}==`,                      /* padding */
		`${good.slice(0, 10)}+${good.slice(11)}`, /* standard base64, not base64url */
		'',
		'not-a-token',
		`${good}%00`,
	];
	for (const t of bad) {
		for (const method of ['GET', 'POST']) {
			const r = method === 'GET' ? await request('GET', url(t)) : await oneClick(t);
			assert.equal(r.status, 400, `${method} ${t}: ${r.body}`);
			assertSecurityHeaders(r);
			assertWellFormed(r.body);
			assert.match(r.body, /This unsubscribe link is not valid\. Please use the link in the most recent email\./);
			assert.doesNotMatch(r.body, /victim/);
			assert.doesNotMatch(r.body, /<form/);
		}
	}
	/* no t at all */
	const none = await request('GET', url(undefined));
	assert.equal(none.status, 400);
	/* localized */
	const de = await oneClick(other, '6');
	assert.equal(de.status, 400);
	assert.match(de.body, /<html lang="de" dir="ltr">/);
	assert.match(de.body, /Dieser Abmeldelink ist ungültig\./);
	const zh = await request('GET', url(flip(3), '1'));
	assert.equal(zh.status, 400);
	assert.match(zh.body, /此退订链接无效/);
	assert.equal(count(), before, 'nothing suppressed');
	assert.equal(count(`email = 'victim@example.org'`), 0);
});

test('other methods get 405 with Allow, other paths 404; neither suppresses', async () => {
	const before = count();
	const token = makeToken({ rcpt: 'methods@example.org' });
	for (const method of ['HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
		const r = await request(method, url(token), method === 'HEAD' ? {} : { body: 'List-Unsubscribe=One-Click', headers: FORM });
		assert.equal(r.status, 405, method);
		assert.equal(r.headers.allow, 'GET, POST', method);
		assertSecurityHeaders(r);
		if (method !== 'HEAD') {
			assertWellFormed(r.body);
			assert.match(r.body, /Method not allowed/);
		} else {
			assert.equal(r.body, '', 'HEAD has no body');
		}
	}
	for (const p of ['/', '/unsubscribe/', '/unsubscribe/x', '/Unsubscribe', '/unsubscribe.html', '/metrics']) {
		for (const method of ['GET', 'POST']) {
			const r = await request(method, `${p}?t=${token}`, method === 'POST' ? { body: 'List-Unsubscribe=One-Click', headers: FORM } : {});
			assert.equal(r.status, 404, `${method} ${p}`);
			assertSecurityHeaders(r);
			assertWellFormed(r.body);
			assert.match(r.body, /Not found/);
		}
	}
	assert.equal(count(), before);
});

test('pages in several languages, right-to-left Arabic, English for unknown codes', async () => {
	const rcpt = 'lang@example.org';
	const cases = [
		{ l: '1', lang: 'zh-CN', dir: 'ltr', title: '退订邮件', button: '确认退订', explain: '点击下方按钮后，<bdi>lang@example.org</bdi> 将不再收到来自 <bdi>example.com</bdi> 的邮件。' },
		{ l: '5', lang: 'fr', dir: 'ltr', title: 'Désabonnement', button: 'Se désabonner', explain: "ne plus recevoir d'e-mails de <bdi>example.com</bdi> à l'adresse <bdi>lang@example.org</bdi>." },
		{ l: '7', lang: 'ja', dir: 'ltr', title: '配信停止', button: '配信を停止する', explain: '下のボタンを押すと' },
		{ l: '9', lang: 'ar', dir: 'rtl', title: 'إلغاء الاشتراك', button: 'إلغاء الاشتراك', explain: '<bdi>example.com</bdi>' },
		{ l: '12', lang: 'vi', dir: 'ltr', title: 'Hủy đăng ký', button: 'Hủy đăng ký', explain: 'Nhấn vào nút bên dưới' },
		{ l: '0', lang: 'en', dir: 'ltr', title: 'Unsubscribe', button: 'Unsubscribe', explain: 'Click the button below' },
		{ l: '13', lang: 'en', dir: 'ltr', title: 'Unsubscribe', button: 'Unsubscribe', explain: 'Click the button below' },
		{ l: 'zh', lang: 'en', dir: 'ltr', title: 'Unsubscribe', button: 'Unsubscribe', explain: 'Click the button below' },
	];
	const token = makeToken({ rcpt });
	for (const c of cases) {
		const r = await request('GET', url(token, c.l));
		assert.equal(r.status, 200, c.l);
		assertWellFormed(r.body);
		assert.equal(r.headers['content-language'], c.lang);
		assert.ok(r.body.includes(`<html lang="${c.lang}" dir="${c.dir}">`), `${c.l}: ${r.body}`);
		assert.ok(r.body.includes(`<title>${c.title}</title>`), c.l);
		assert.ok(r.body.includes(`<h1>${c.title}</h1>`), c.l);
		assert.ok(r.body.includes(c.explain), `${c.l}: ${r.body}`);
		assert.equal(formOf(r.body).button, c.button);
	}
	/* the done page in Korean; the l parameter may come before t, percent-encoded */
	const done = await request('POST', `/unsubscribe?l=%38&t=${token}`, { body: 'List-Unsubscribe=One-Click', headers: FORM });
	assert.equal(done.status, 200, done.body);
	assert.match(done.body, /<html lang="ko" dir="ltr">/);
	assert.ok(done.body.includes('수신 거부가 완료되었습니다. 앞으로 <bdi>lang@example.org</bdi> 주소로 <bdi>example.com</bdi>의 이메일이 발송되지 않습니다.'), done.body);
	assert.equal(count(`email = ${sqlStr(rcpt)}`), 1);
	assert.equal(count(`email = ${sqlStr(rcpt)} AND reason = 'unsubscribe'`), 1);
});

test('addresses and domains are HTML-escaped on the page', async () => {
	const rcpt = `o'brien+"x"<y>&z@example.org`;
	const token = makeToken({ rcpt, domain: 'ex-ample.com' });
	const r = await request('GET', url(token));
	assert.equal(r.status, 200);
	assertWellFormed(r.body);
	assert.ok(r.body.includes('<bdi>o&#39;brien+&quot;x&quot;&lt;y&gt;&amp;z@example.org</bdi>'), r.body);
	const p = await oneClick(token);
	assert.equal(p.status, 200);
	assert.deepEqual(rows(`email = ${sqlStr(rcpt)}`).map((x) => x[3]), [rcpt]);
});

test('SIGHUP re-reads the key file: old links stop working, new ones work', async () => {
	const oldKey = sesd.unsubscribeKey;
	const newKey = crypto.randomBytes(48);
	const oldToken = makeToken({ rcpt: 'rotate@example.org' }, oldKey);
	assert.equal((await request('GET', url(oldToken))).status, 200);
	fs.writeFileSync(sesd.unsubscribeKeyPath, newKey, { mode: 0o600 });
	sesd.reload();
	await sesd.waitForLog(/configuration reloaded/);
	const deadline = Date.now() + 10000;
	while ((await request('GET', url(oldToken))).status !== 400) {
		assert.ok(Date.now() < deadline, 'the old key still works after SIGHUP');
		await sleep(100);
	}
	const newToken = makeToken({ rcpt: 'rotate@example.org' }, newKey);
	const r = await oneClick(newToken);
	assert.equal(r.status, 200, r.body);
	assert.equal((await oneClick(oldToken)).status, 400);
	assert.equal(count(`email = 'rotate@example.org'`), 1);

	/* a key file that turns unreadable by policy: the reload is refused, the running key stays */
	fs.chmodSync(sesd.unsubscribeKeyPath, 0o644);
	sesd.reload();
	await sesd.waitForLog(/readable by group or others \(mode 0644\); chmod 600 it; keeping the running configuration/);
	assert.equal((await request('GET', url(newToken))).status, 200);
	fs.chmodSync(sesd.unsubscribeKeyPath, 0o600);
	sesd.unsubscribeKey = newKey;
});

test('while PostgreSQL is down a POST answers 503 "try again" and GET still works', async () => {
	const token = makeToken({ rcpt: 'outage@example.org' });
	await pg.stopOnly();
	try {
		const get = await request('GET', url(token));
		assert.equal(get.status, 200, 'GET needs no database');
		for (const l of [undefined, '4']) {
			const t0 = Date.now();
			const r = await oneClick(token, l);
			assert.equal(r.status, 503, r.body);
			assert.ok(Date.now() - t0 < 10000, 'answered quickly');
			assertSecurityHeaders(r);
			assertWellFormed(r.body);
			assert.match(r.body, l === '4' ? /El servicio no está disponible temporalmente\./
				: /The service is temporarily unavailable\. Please try again in a few minutes\./);
			formOf(r.body); /* the button, to try again */
		}
	} finally {
		await pg.startAgain();
	}
	const deadline = Date.now() + 20000;
	let r;
	for (;;) {
		r = await oneClick(token);
		if (r.status === 200 || Date.now() > deadline)
			break;
		await sleep(200);
	}
	assert.equal(r.status, 200, r.body);
	assert.equal(count(`email = 'outage@example.org'`), 1);
});

test('without unsubscribe_key_file every token is refused, and the log says why', async () => {
	const bare = await startSesd({ pg, unsubscribeKey: null });
	try {
		await bare.waitForLog(/web: \[content\] unsubscribe_key_file is not set/);
		const token = makeToken({ rcpt: 'nokey@example.org' }, crypto.randomBytes(32));
		const req = (method) => new Promise((resolve, reject) => {
			const r = http.request({ host: '127.0.0.1', port: bare.webPort, method, path: url(token), agent: false,
				headers: method === 'POST' ? { ...FORM, 'Content-Length': 26 } : {} }, (res) => {
				res.resume();
				res.on('end', () => resolve(res.statusCode));
			});
			r.on('error', reject);
			r.end(method === 'POST' ? 'List-Unsubscribe=One-Click' : undefined);
		});
		assert.equal(await req('GET'), 400);
		assert.equal(await req('POST'), 400);
		assert.equal(count(`email = 'nokey@example.org'`), 0);
	} finally {
		await bare.stop();
	}
});

test('no token ever reaches the log', () => {
	const log = sesd.log();
	assert.ok(tokensUsed.length > 15, `only ${tokensUsed.length} tokens`);
	for (const t of tokensUsed)
		if (t.length > 16)
			assert.ok(!log.includes(t), `token in the log: ${t}`);
	assert.doesNotMatch(log, /victim@example\.org/, 'nor the recipient of a refused link');
});
