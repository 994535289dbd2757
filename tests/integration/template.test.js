'use strict';
/*
 * Templates (ses-api.md 5.4): CreateEmailTemplate, GetEmailTemplate, ListEmailTemplates,
 * UpdateEmailTemplate, DeleteEmailTemplate through the official Node SDK.
 * Two sesd processes share one PostgreSQL: `main` with the defaults ([templates] review =
 * auto, max_size 1M, [limits] templates 1000) and `small` ([templates] review = manual,
 * max_size 2k, [limits] templates 3) with accounts of their own. A third, `twin`, serves
 * main's accounts at log level debug, for the reply cache's cross-node test.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startPg, startSesd, sdkClient, expectCode, randomAlnum } = require('./lib/stack');
const { signedRequest } = require('../tools/tc3sign');

let pg;
let main;
let small;
let twin;
let mainAccounts;
let A; /* main, account 1000001 */
let B; /* main, account 1000002 */
let M; /* small, account 2000001: manual review and size limit */
let L; /* small, account 2000002: template count limit */

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s) => Buffer.from(s, 'base64').toString('utf8');

function accounts(prefix, base) {
	return [1, 2].map((i) => ({
		secretId: `AKID${prefix}${i}`.padEnd(36, '0'),
		secretKey: randomAlnum(32),
		appId: base + i,
	}));
}

before(async () => {
	pg = await startPg();
	mainAccounts = accounts('tplmain', 1000000);
	main = await startSesd({ pg, accounts: mainAccounts, conf: { api: { rate_limit: 0 } } });
	small = await startSesd({
		pg,
		accounts: accounts('tplsmall', 2000000),
		conf: { api: { rate_limit: 0 }, templates: { review: 'manual', max_size: '2k' }, limits: { templates: 3 } },
	});
	A = sdkClient(main, 0);
	B = sdkClient(main, 1);
	M = sdkClient(small, 0);
	L = sdkClient(small, 1);
});

after(async () => {
	if (twin)
		await twin.stop();
	if (small)
		await small.stop();
	if (main)
		await main.stop();
	if (pg)
		await pg.stop();
});

function variablesOf(id) {
	return pg.psql(`SELECT array_to_string(variables, ',') FROM templates WHERE id = ${id}`);
}

async function create(client, name, content) {
	const r = await client.CreateEmailTemplate({ TemplateName: name, TemplateContent: content });
	assert.equal(typeof r.TemplateID, 'number', JSON.stringify(r));
	assert.ok(Number.isInteger(r.TemplateID) && r.TemplateID > 0);
	return r.TemplateID;
}

/* Text absent from TemplateContent when the template has none */
function assertNoPart(v) {
	assert.ok(v === undefined || v === null || v === '', `expected no content, got ${JSON.stringify(v)}`);
}

const UNICODE = 'Grüße aus Köln, 你好, Ωμέγα, emoji 😀 (U+1F600) and 𝄞, {{name}}';

test('Create and Get: Html only, Text only, both; content comes back byte for byte', async () => {
	const htmlOnly = await create(A, 'html only', { Html: b64('<p>Hello {{name}}, code {{code}}</p>') });
	const textOnly = await create(A, 'text only', { Text: b64('Hello {{name}}') });
	const both = await create(A, 'both ✓', { Html: b64(`<p>${UNICODE}</p>`), Text: b64(UNICODE + '\r\n\ttab {{zeta}}') });
	assert.ok(htmlOnly < textOnly && textOnly < both);

	let g = await A.GetEmailTemplate({ TemplateID: htmlOnly });
	assert.equal(g.TemplateName, 'html only');
	assert.equal(g.TemplateStatus, 0, 'review = auto approves at once');
	assert.equal(g.TemplateContent.Html, b64('<p>Hello {{name}}, code {{code}}</p>'));
	assertNoPart(g.TemplateContent.Text);
	assert.equal(variablesOf(htmlOnly), 'code,name');

	g = await A.GetEmailTemplate({ TemplateID: textOnly });
	assert.equal(g.TemplateContent.Text, b64('Hello {{name}}'));
	assertNoPart(g.TemplateContent.Html);
	assert.equal(variablesOf(textOnly), 'name');

	g = await A.GetEmailTemplate({ TemplateID: both });
	assert.equal(g.TemplateName, 'both ✓');
	assert.equal(g.TemplateContent.Html, b64(`<p>${UNICODE}</p>`));
	assert.equal(g.TemplateContent.Text, b64(UNICODE + '\r\n\ttab {{zeta}}'));
	assert.equal(unb64(g.TemplateContent.Text), UNICODE + '\r\n\ttab {{zeta}}');
	assert.ok(Buffer.from(g.TemplateContent.Html, 'base64').includes(Buffer.from([0xf0, 0x9f, 0x98, 0x80])),
		'the 4-byte emoji survives');
	assert.equal(variablesOf(both), 'name,zeta');
	/* what is stored is the decoded text */
	assert.equal(pg.psql(`SELECT text_body FROM templates WHERE id = ${both}`), UNICODE + '\r\n\ttab {{zeta}}');
	/* Html "" next to a Text counts as absent */
	const emptyHtml = await create(A, 'empty html', { Html: '', Text: b64('plain') });
	g = await A.GetEmailTemplate({ TemplateID: emptyHtml });
	assertNoPart(g.TemplateContent.Html);
	assert.equal(g.TemplateContent.Text, b64('plain'));
	await A.DeleteEmailTemplate({ TemplateID: emptyHtml });
	/* the official example */
	const ex = await create(A, 'example', { Html: 'PGh0bWw+dGhpcyBpcyBhIGV4YW1wbGUge3tjb2RlfX08L2h0bWw+' });
	assert.equal((await A.GetEmailTemplate({ TemplateID: ex })).TemplateContent.Html,
		'PGh0bWw+dGhpcyBpcyBhIGV4YW1wbGUge3tjb2RlfX08L2h0bWw+');
	assert.equal(variablesOf(ex), 'code');
	await A.DeleteEmailTemplate({ TemplateID: ex });
});

test('Create: template names', async () => {
	const n100 = '名'.repeat(100); /* 100 characters, 300 bytes */
	const id = await create(A, n100, { Text: b64('x') });
	assert.equal((await A.GetEmailTemplate({ TemplateID: id })).TemplateName, n100);
	await A.DeleteEmailTemplate({ TemplateID: id });
	await expectCode(A.CreateEmailTemplate({ TemplateName: '', TemplateContent: { Text: b64('x') } }),
		'InvalidParameterValue.TemplateNameIllegal');
	await expectCode(A.CreateEmailTemplate({ TemplateName: 'n'.repeat(101), TemplateContent: { Text: b64('x') } }),
		'InvalidParameterValue.TemplateNameIllegal');
	await expectCode(A.CreateEmailTemplate({ TemplateName: 'line\nbreak', TemplateContent: { Text: b64('x') } }),
		'InvalidParameterValue.TemplateNameIllegal');
	await expectCode(A.CreateEmailTemplate({ TemplateName: 'tab\there', TemplateContent: { Text: b64('x') } }),
		'InvalidParameterValue.TemplateNameIllegal');
});

test('Create: content errors', async () => {
	const before = (await A.ListEmailTemplates({ Limit: 1, Offset: 0 })).TotalCount;
	const c = (content) => A.CreateEmailTemplate({ TemplateName: 'bad', TemplateContent: content });
	await expectCode(c({}), 'InvalidParameterValue.TemplateContentIsNULL');
	await expectCode(c({ Html: '', Text: '' }), 'InvalidParameterValue.TemplateContentIsNULL');
	await expectCode(c({ Html: '' }), 'InvalidParameterValue.TemplateContentIsNULL');
	for (const bad of ['!!!!', 'abc', 'aGVsbG8', 'aGVs bG8=', 'aGVsbG8=\n', 'aGVsbG8=aGVs', '====', 'aGVsbG8_'])
		await expectCode(c({ Html: bad }), 'InvalidParameterValue.TemplateContentIsWrong');
	/* valid base64 of bytes that are not UTF-8 text */
	await expectCode(c({ Html: Buffer.from([0xff, 0xfe, 0x41]).toString('base64') }),
		'InvalidParameterValue.TemplateContentIsWrong');
	await expectCode(c({ Text: Buffer.from([0xc3, 0x28]).toString('base64') }), /* bad 2-byte sequence */
		'InvalidParameterValue.TemplateContentIsWrong');
	await expectCode(c({ Text: Buffer.from([0xf0, 0x9f, 0x98]).toString('base64') }), /* truncated emoji */
		'InvalidParameterValue.TemplateContentIsWrong');
	await expectCode(c({ Text: Buffer.from([0xed, 0xa0, 0x80]).toString('base64') }), /* UTF-16 surrogate */
		'InvalidParameterValue.TemplateContentIsWrong');
	await expectCode(c({ Text: Buffer.from('nul\0byte').toString('base64') }),
		'InvalidParameterValue.TemplateContentIsWrong');
	/* one good part does not excuse a bad one */
	await expectCode(c({ Html: b64('<p>ok</p>'), Text: Buffer.from([0xff]).toString('base64') }),
		'InvalidParameterValue.TemplateContentIsWrong');
	/* parameter checks of the framework */
	await expectCode(A.CreateEmailTemplate({ TemplateName: 'x' }), 'MissingParameter');
	await expectCode(A.CreateEmailTemplate({ TemplateContent: { Text: b64('x') } }), 'MissingParameter');
	await expectCode(c({ Text: b64('x'), Foo: b64('x') }), 'UnknownParameter');
	await expectCode(c({ Text: 5 }), 'InvalidParameter');
	await expectCode(A.CreateEmailTemplate({ TemplateName: 'x', TemplateContent: b64('x') }), 'InvalidParameter');
	assert.equal((await A.ListEmailTemplates({ Limit: 1, Offset: 0 })).TotalCount, before, 'nothing stored');
});

test('List: paging, TotalCount, newest first, field types', async () => {
	const first = await A.ListEmailTemplates({ Limit: 100, Offset: 0 });
	const n0 = first.TotalCount;
	const made = [];
	for (let i = 0; i < 5; i++)
		made.push(await create(A, `page ${i}`, { Text: b64(`body ${i}`) }));
	const all = await A.ListEmailTemplates({ Limit: 100, Offset: 0 });
	assert.equal(all.TotalCount, n0 + 5);
	assert.equal(all.TemplatesMetadata.length, n0 + 5);
	const ids = all.TemplatesMetadata.map((t) => t.TemplateID);
	assert.deepEqual(ids, [...ids].sort((x, y) => y - x), 'newest first');
	assert.deepEqual(ids.slice(0, 5), [...made].reverse());
	const now = Date.now() / 1000;
	for (const t of all.TemplatesMetadata) {
		assert.deepEqual(Object.keys(t).sort(),
			['CreatedTimestamp', 'ReviewReason', 'TemplateID', 'TemplateName', 'TemplateStatus']);
		assert.ok(Number.isInteger(t.CreatedTimestamp), JSON.stringify(t));
		assert.ok(Math.abs(t.CreatedTimestamp - now) < 600, `CreatedTimestamp ${t.CreatedTimestamp} is now`);
		assert.equal(typeof t.TemplateName, 'string');
		assert.equal(typeof t.TemplateStatus, 'number');
		assert.equal(t.TemplateStatus, 0);
		assert.equal(typeof t.TemplateID, 'number');
		assert.equal(typeof t.ReviewReason, 'string');
		assert.ok(t.ReviewReason.length > 0, 'auto review leaves a reason');
	}
	assert.equal(all.TemplatesMetadata[0].TemplateName, 'page 4');
	assert.equal(typeof all.TotalCount, 'number');

	const p0 = await A.ListEmailTemplates({ Limit: 2, Offset: 0 });
	const p1 = await A.ListEmailTemplates({ Limit: 2, Offset: 2 });
	assert.deepEqual([p0.TotalCount, p1.TotalCount], [n0 + 5, n0 + 5]);
	assert.deepEqual([...p0.TemplatesMetadata, ...p1.TemplatesMetadata].map((t) => t.TemplateID), ids.slice(0, 4));
	const last = await A.ListEmailTemplates({ Limit: 100, Offset: n0 + 4 });
	assert.equal(last.TemplatesMetadata.length, 1);
	assert.equal(last.TemplatesMetadata[0].TemplateID, ids[ids.length - 1]);
	const past = await A.ListEmailTemplates({ Limit: 100, Offset: n0 + 5 });
	assert.equal(past.TotalCount, n0 + 5);
	assert.deepEqual(past.TemplatesMetadata, []);
	assert.equal((await A.ListEmailTemplates({ Limit: 100, Offset: 0 })).TemplatesMetadata.length, n0 + 5);

	await expectCode(A.ListEmailTemplates({ Limit: 101, Offset: 0 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListEmailTemplates({ Limit: 0, Offset: 0 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListEmailTemplates({ Limit: 10, Offset: -1 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListEmailTemplates({ Limit: 10 }), 'MissingParameter');
	await expectCode(A.ListEmailTemplates({ Limit: '10', Offset: 0 }), 'InvalidParameter');
	for (const id of made)
		await A.DeleteEmailTemplate({ TemplateID: id });
});

test('Update changes name and content; Delete removes', async () => {
	const id = await create(A, 'before', { Html: b64('<b>{{old}}</b>') });
	await A.UpdateEmailTemplate({ TemplateID: id, TemplateName: 'after 😀',
		TemplateContent: { Text: b64('new {{a}} {{b}} 😀') } });
	const g = await A.GetEmailTemplate({ TemplateID: id });
	assert.equal(g.TemplateName, 'after 😀');
	assert.equal(g.TemplateContent.Text, b64('new {{a}} {{b}} 😀'));
	assertNoPart(g.TemplateContent.Html);
	assert.equal(g.TemplateStatus, 0);
	assert.equal(variablesOf(id), 'a,b');
	const l = await A.ListEmailTemplates({ Limit: 100, Offset: 0 });
	assert.equal(l.TemplatesMetadata.find((t) => t.TemplateID === id).TemplateName, 'after 😀');

	/* update errors leave the template as it was */
	const u = (over) => A.UpdateEmailTemplate({ TemplateID: id, TemplateName: 'x', TemplateContent: { Text: b64('y') }, ...over });
	await expectCode(u({ TemplateName: '' }), 'InvalidParameterValue.TemplateNameIsNULL');
	await expectCode(u({ TemplateName: 'n'.repeat(101) }), 'InvalidParameterValue.TemplateNameIllegal');
	await expectCode(u({ TemplateContent: {} }), 'InvalidParameterValue.TemplateContentIsNULL');
	await expectCode(u({ TemplateContent: { Html: 'not base64!' } }), 'InvalidParameterValue.TemplateContentIsWrong');
	await expectCode(u({ TemplateContent: { Html: Buffer.from([0x80]).toString('base64') } }),
		'InvalidParameterValue.TemplateContentIsWrong');
	await expectCode(u({ TemplateID: 987654321 }), 'InvalidParameterValue.TemplateNotExist');
	await expectCode(A.UpdateEmailTemplate({ TemplateID: id, TemplateContent: { Text: b64('y') } }), 'MissingParameter');
	const g2 = await A.GetEmailTemplate({ TemplateID: id });
	assert.equal(g2.TemplateName, 'after 😀');
	assert.equal(g2.TemplateContent.Text, b64('new {{a}} {{b}} 😀'));

	const before = (await A.ListEmailTemplates({ Limit: 1, Offset: 0 })).TotalCount;
	const d = await A.DeleteEmailTemplate({ TemplateID: id });
	assert.equal(typeof d.RequestId, 'string');
	await expectCode(A.GetEmailTemplate({ TemplateID: id }), 'InvalidParameterValue.TemplateNotExist');
	assert.equal((await A.ListEmailTemplates({ Limit: 1, Offset: 0 })).TotalCount, before - 1);
	await expectCode(A.DeleteEmailTemplate({ TemplateID: id }), 'InvalidParameterValue.TemplateNotExist');
	await expectCode(A.UpdateEmailTemplate({ TemplateID: id, TemplateName: 'x', TemplateContent: { Text: b64('y') } }),
		'InvalidParameterValue.TemplateNotExist');
	await expectCode(A.GetEmailTemplate({ TemplateID: 0 }), 'InvalidParameterValue.TemplateNotExist');
	await expectCode(A.GetEmailTemplate({ TemplateID: -1 }), 'InvalidParameterValue.TemplateNotExist');
	await expectCode(A.GetEmailTemplate({ TemplateID: '1' }), 'InvalidParameter');
	await expectCode(A.GetEmailTemplate({}), 'MissingParameter');
});

test('TemplateContentToolarge: [templates] max_size counts decoded Html + Text', async () => {
	/* max_size = 2k = 2048 bytes of decoded content */
	const id = await create(M, 'exactly max', { Html: b64('h'.repeat(1000)), Text: b64('t'.repeat(1048)) });
	const err = await expectCode(M.CreateEmailTemplate({ TemplateName: 'one over',
		TemplateContent: { Html: b64('h'.repeat(1000)), Text: b64('t'.repeat(1049)) } }),
	'FailedOperation.TemplateContentToolarge');
	assert.match(err.message, /2048/);
	/* multi-byte characters count as bytes: 683 × 3 = 2049 */
	await expectCode(M.CreateEmailTemplate({ TemplateName: 'wide', TemplateContent: { Text: b64('你'.repeat(683)) } }),
		'FailedOperation.TemplateContentToolarge');
	await expectCode(M.UpdateEmailTemplate({ TemplateID: id, TemplateName: 'grown',
		TemplateContent: { Text: b64('t'.repeat(2049)) } }), 'FailedOperation.TemplateContentToolarge');
	assert.equal((await M.GetEmailTemplate({ TemplateID: id })).TemplateName, 'exactly max');
	await M.DeleteEmailTemplate({ TemplateID: id });
	/* the default (1M) accepts it */
	const big = await create(A, 'big', { Text: b64('t'.repeat(4096)) });
	await A.DeleteEmailTemplate({ TemplateID: big });
});

test('FailedOperation.ExceedTemplateLimit: [limits] templates', async () => {
	const ids = [];
	for (let i = 0; i < 3; i++)
		ids.push(await create(L, `t${i}`, { Text: b64(`${i}`) }));
	await expectCode(L.CreateEmailTemplate({ TemplateName: 't3', TemplateContent: { Text: b64('3') } }),
		'FailedOperation.ExceedTemplateLimit');
	assert.equal((await L.ListEmailTemplates({ Limit: 10, Offset: 0 })).TotalCount, 3);
	/* the limit is per account: M still has room */
	const m = await create(M, 'other account', { Text: b64('m') });
	await M.DeleteEmailTemplate({ TemplateID: m });
	/* deleting frees a slot */
	await L.DeleteEmailTemplate({ TemplateID: ids[0] });
	ids.push(await create(L, 't3', { Text: b64('3') }));
	await expectCode(L.CreateEmailTemplate({ TemplateName: 't4', TemplateContent: { Text: b64('4') } }),
		'FailedOperation.ExceedTemplateLimit');
	/* updates are not creations */
	await L.UpdateEmailTemplate({ TemplateID: ids[1], TemplateName: 't1b', TemplateContent: { Text: b64('1b') } });
});

test('the template limit holds under concurrent creates', async () => {
	const existing = (await L.ListEmailTemplates({ Limit: 100, Offset: 0 })).TemplatesMetadata;
	for (const t of existing)
		await L.DeleteEmailTemplate({ TemplateID: t.TemplateID });
	/* 20 at once over several database connections: without a lock each
	 * statement's snapshot would see room for itself */
	const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
		L.CreateEmailTemplate({ TemplateName: `race ${i}`, TemplateContent: { Text: b64(`${i}`) } })));
	const ok = results.filter((r) => r.status === 'fulfilled');
	const limited = results.filter((r) => r.status === 'rejected' && r.reason.code === 'FailedOperation.ExceedTemplateLimit');
	assert.equal(ok.length, 3, JSON.stringify(results.map((r) => r.status === 'rejected' ? r.reason.code : 'ok')));
	assert.equal(limited.length, 17);
	assert.equal((await L.ListEmailTemplates({ Limit: 100, Offset: 0 })).TotalCount, 3);
});

test('[templates] review = manual: status 1 until sesd_template_review()', async () => {
	const id = await create(M, 'needs review', { Html: b64('<p>{{x}}</p>') });
	let g = await M.GetEmailTemplate({ TemplateID: id });
	assert.equal(g.TemplateStatus, 1);
	let t = (await M.ListEmailTemplates({ Limit: 10, Offset: 0 })).TemplatesMetadata.find((x) => x.TemplateID === id);
	assert.equal(t.TemplateStatus, 1);
	assert.equal(t.ReviewReason, '');

	assert.equal(pg.psql(`SELECT sesd_template_review(${id}, true, 'ok')`), 't');
	g = await M.GetEmailTemplate({ TemplateID: id });
	assert.equal(g.TemplateStatus, 0);
	t = (await M.ListEmailTemplates({ Limit: 10, Offset: 0 })).TemplatesMetadata.find((x) => x.TemplateID === id);
	assert.equal(t.TemplateStatus, 0);
	assert.equal(t.ReviewReason, 'ok');

	/* an update goes back to review */
	await M.UpdateEmailTemplate({ TemplateID: id, TemplateName: 'changed', TemplateContent: { Html: b64('<p>new</p>') } });
	t = (await M.ListEmailTemplates({ Limit: 10, Offset: 0 })).TemplatesMetadata.find((x) => x.TemplateID === id);
	assert.equal(t.TemplateStatus, 1);
	assert.equal(t.ReviewReason, '');
	/* rejection */
	assert.equal(pg.psql(`SELECT sesd_template_review(${id}, false, 'links to a phishing site')`), 't');
	g = await M.GetEmailTemplate({ TemplateID: id });
	assert.equal(g.TemplateStatus, 2);
	t = (await M.ListEmailTemplates({ Limit: 10, Offset: 0 })).TemplatesMetadata.find((x) => x.TemplateID === id);
	assert.equal(t.ReviewReason, 'links to a phishing site');
	/* an unknown id: NULL, nothing changed */
	assert.equal(pg.psql('SELECT sesd_template_review(987654321, true) IS NULL'), 't');
	await M.DeleteEmailTemplate({ TemplateID: id });
});

test('isolation between accounts', async () => {
	const id = await create(A, 'private', { Text: b64('secret {{x}}') });
	assert.equal((await B.ListEmailTemplates({ Limit: 100, Offset: 0 })).TotalCount, 0);
	assert.deepEqual((await B.ListEmailTemplates({ Limit: 100, Offset: 0 })).TemplatesMetadata, []);
	await expectCode(B.GetEmailTemplate({ TemplateID: id }), 'InvalidParameterValue.TemplateNotExist');
	await expectCode(B.UpdateEmailTemplate({ TemplateID: id, TemplateName: 'mine', TemplateContent: { Text: b64('x') } }),
		'InvalidParameterValue.TemplateNotExist');
	await expectCode(B.DeleteEmailTemplate({ TemplateID: id }), 'InvalidParameterValue.TemplateNotExist');
	const g = await A.GetEmailTemplate({ TemplateID: id });
	assert.equal(g.TemplateName, 'private');
	assert.equal(g.TemplateContent.Text, b64('secret {{x}}'));
	/* B's own template is not visible to A either */
	const bid = await create(B, 'b only', { Text: b64('b') });
	await expectCode(A.GetEmailTemplate({ TemplateID: bid }), 'InvalidParameterValue.TemplateNotExist');
	assert.ok(!(await A.ListEmailTemplates({ Limit: 100, Offset: 0 })).TemplatesMetadata.some((t) => t.TemplateID === bid));
	assert.equal((await B.ListEmailTemplates({ Limit: 100, Offset: 0 })).TotalCount, 1);
});

test('CreatedTimestamp: the epoch second rounded half up, as extract(epoch)::bigint', async () => {
	const ids = [];
	for (const frac of ['000000', '499999', '500000', '500001', '999999'])
		ids.push([await create(A, `at .${frac}`, { Text: b64('t') }), frac]);
	for (const [id, frac] of ids)
		pg.psql(`UPDATE templates SET created_at = timestamptz '2026-11-26 10:00:02.${frac}+00' WHERE id = ${id}`);
	const want = Object.fromEntries(pg.psql(`SELECT id, extract(epoch FROM created_at)::bigint FROM templates
		WHERE id IN (${ids.map(([id]) => id).join(',')})`).split('\n').map((l) => l.split('|').map(Number)));
	const got = (await A.ListEmailTemplates({ Limit: 100, Offset: 0 })).TemplatesMetadata;
	for (const [id, frac] of ids) {
		const t = got.find((x) => x.TemplateID === id);
		assert.equal(t.CreatedTimestamp, want[id], `.${frac}`);
		assert.equal(t.CreatedTimestamp, frac >= '500000' ? 1795687203 : 1795687202, `.${frac}`);
		await A.DeleteEmailTemplate({ TemplateID: id });
	}
});

/*
 * Reads queued in one loop turn share a round trip (db_query_read). While
 * the list statement fails (a column renamed under it), the Gets sent in
 * the same groups must still succeed on their own, and all recover after.
 */
test('concurrent reads: a failing read does not fail the reads sharing its round trip', async () => {
	const id = await create(A, 'neighbour', { Text: b64('n') });
	const round = async () => {
		const ps = [];
		for (let i = 0; i < 40; i++) {
			ps.push(A.ListEmailTemplates({ Limit: 10, Offset: 0 }).then(() => 'ok', (e) => e.code));
			ps.push(A.GetEmailTemplate({ TemplateID: id }).then((g) => g.TemplateName, (e) => e.code));
		}
		const r = await Promise.all(ps);
		return [new Set(r.filter((_, i) => i % 2 === 0)), new Set(r.filter((_, i) => i % 2 === 1))];
	};
	assert.deepEqual(await round(), [new Set(['ok']), new Set(['neighbour'])]);
	/* the lists now have a kept reply: the version check fails for all of them */
	pg.psql('ALTER TABLE template_versions RENAME COLUMN version TO version_gone');
	try {
		assert.deepEqual(await round(), [new Set(['InternalError']), new Set(['neighbour'])]);
	} finally {
		pg.psql('ALTER TABLE template_versions RENAME COLUMN version_gone TO version');
	}
	/* a version that moved sends the lists to their own statement, which fails */
	pg.psql(`ALTER TABLE templates RENAME COLUMN review_reason TO review_reason_gone;
		UPDATE template_versions SET version = version + 1 WHERE app_id = ${mainAccounts[0].appId}`);
	try {
		assert.deepEqual(await round(), [new Set(['InternalError']), new Set(['neighbour'])]);
	} finally {
		pg.psql('ALTER TABLE templates RENAME COLUMN review_reason_gone TO review_reason');
	}
	assert.deepEqual(await round(), [new Set(['ok']), new Set(['neighbour'])]);
	await A.DeleteEmailTemplate({ TemplateID: id });
});

/*
 * The reply cache (api.h): a node sends a page it built before only when the database,
 * asked on this request, says the account's templates have not changed since; any change
 * (through any node, or by hand in SQL) shows on the very next request to every node.
 */
test('List: a kept reply is sent only while the account\'s templates are unchanged, on any node', async () => {
	twin = await startSesd({ pg, accounts: mainAccounts, migrate: false,
		conf: { api: { rate_limit: 0 }, sesd: { log_level: 'debug' } } });
	const T = sdkClient(twin, 0); /* account A, on the twin node */
	const T2 = sdkClient(twin, 1); /* account B, on the twin node */
	const kept = () => twin.log().split('\n').filter((l) => /ListEmailTemplates .* ok \(kept reply/.test(l)).length;
	const page = { Limit: 3, Offset: 0 };
	const names = (r) => r.TemplatesMetadata.map((t) => t.TemplateName);
	const withoutId = ({ RequestId, ...rest }) => rest;
	const id1 = await create(A, 'kept 1', { Text: b64('one') });

	/* raw replies: the kept one is the built one, byte for byte, with its own RequestId */
	const acc = mainAccounts[0];
	const rawList = async () => (await signedRequest({ endpoint: twin.endpoint, secretId: acc.secretId,
		secretKey: acc.secretKey, action: 'ListEmailTemplates', body: page })).body;
	const b1 = await rawList();
	assert.equal(kept(), 0);
	const b2 = await rawList();
	assert.equal(kept(), 1, 'the second identical request is answered from the kept reply');
	const rid = /"RequestId":"([0-9a-f-]{36})"\}\}$/;
	assert.match(b1, rid);
	assert.match(b2, rid);
	assert.notEqual(rid.exec(b1)[1], rid.exec(b2)[1]);
	assert.equal(b2.replace(rid, ''), b1.replace(rid, ''));

	const check = async (what, want) => {
		const before = kept();
		const r = await T.ListEmailTemplates(page);
		assert.equal(kept(), before, `${what}: answered from a stale reply`);
		const fresh = await A.ListEmailTemplates(page);
		assert.deepEqual(withoutId(r), withoutId(fresh), what);
		want(r);
		/* and unchanged again, the new page is kept */
		const again = await T.ListEmailTemplates(page);
		assert.equal(kept(), before + 1, `${what}: the new page is not kept`);
		assert.deepEqual(withoutId(again), withoutId(r), what);
	};
	const n = (await A.ListEmailTemplates(page)).TotalCount;
	/* a create on the other node */
	const id2 = await create(A, 'kept 2', { Text: b64('two') });
	await check('create on main', (r) => {
		assert.equal(r.TotalCount, n + 1);
		assert.deepEqual(names(r).slice(0, 2), ['kept 2', 'kept 1']);
	});
	await A.UpdateEmailTemplate({ TemplateID: id1, TemplateName: 'kept 1 renamed', TemplateContent: { Text: b64('1') } });
	await check('update on main', (r) => assert.deepEqual(names(r).slice(0, 2), ['kept 2', 'kept 1 renamed']));
	pg.psql(`UPDATE templates SET review_reason = 'by hand' WHERE id = ${id2}`);
	await check('UPDATE in psql', (r) => assert.equal(r.TemplatesMetadata[0].ReviewReason, 'by hand'));
	pg.psql(`SELECT sesd_template_review(${id2}, false, 'rejected by hand')`);
	await check('sesd_template_review()', (r) => assert.equal(r.TemplatesMetadata[0].TemplateStatus, 2));
	await A.DeleteEmailTemplate({ TemplateID: id2 });
	await check('delete on main', (r) => {
		assert.equal(r.TotalCount, n);
		assert.equal(names(r)[0], 'kept 1 renamed');
	});
	/* another page and another account are other keys */
	const other = await T.ListEmailTemplates({ Limit: 1, Offset: 0 });
	assert.equal(other.TemplatesMetadata.length, 1);
	/* both accounts at the same version, so only the key tells their pages apart */
	pg.psql(`INSERT INTO template_versions (app_id, version)
		SELECT ${mainAccounts[1].appId}, version FROM template_versions WHERE app_id = ${acc.appId}
		ON CONFLICT (app_id) DO UPDATE SET version = excluded.version`);
	const bPage = await T2.ListEmailTemplates(page);
	assert.deepEqual(withoutId(bPage), withoutId(await B.ListEmailTemplates(page)));
	assert.ok(!names(bPage).includes('kept 1 renamed'), 'account B got account A\'s kept page');
	const bAgain = await T2.ListEmailTemplates(page);
	assert.deepEqual(withoutId(bAgain), withoutId(bPage));
	/* a write by B leaves A's kept page valid */
	const before = kept();
	const bid = await create(B, 'b kept', { Text: b64('b') });
	await T.ListEmailTemplates(page);
	assert.equal(kept(), before + 1, 'a write of account B invalidated account A\'s page');
	await B.DeleteEmailTemplate({ TemplateID: bid });
	await A.DeleteEmailTemplate({ TemplateID: id1 });
});

test('template_versions: every kind of change to templates moves the account\'s version', async () => {
	const app = mainAccounts[0].appId;
	const other = mainAccounts[1].appId;
	const vs = () => pg.psql(`SELECT coalesce((SELECT version FROM template_versions WHERE app_id = ${app}), 0),
		coalesce((SELECT version FROM template_versions WHERE app_id = ${other}), 0)`).split('|').map(BigInt);
	const moved = (before, what, { a = true, b = false } = {}) => {
		const now = vs();
		assert.equal(now[0] > before[0], a, `${what}: account A's version ${before[0]} -> ${now[0]}`);
		assert.equal(now[1] > before[1], b, `${what}: account B's version ${before[1]} -> ${now[1]}`);
		assert.ok(now[0] >= before[0] && now[1] >= before[1], `${what}: a version went down`);
		return now;
	};
	let v = vs();
	const id = await create(A, 'versioned', { Text: b64('v') });
	v = moved(v, 'insert');
	pg.psql(`UPDATE templates SET name = name WHERE id = ${id}`);
	v = moved(v, 'update');
	/* an operator moving a template to another account moves both versions */
	pg.psql(`UPDATE templates SET app_id = ${other} WHERE id = ${id}`);
	v = moved(v, 'app_id changed', { b: true });
	pg.psql(`UPDATE templates SET app_id = ${app} WHERE id = ${id}`);
	v = moved(v, 'app_id changed back', { b: true });
	pg.psql(`DELETE FROM templates WHERE id = ${id}`);
	v = moved(v, 'delete');
	/* versions are at least the wall clock's microseconds: not handed out again after a
	 * restore or a failover that loses recent commits */
	const nowUs = BigInt(pg.psql('SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint'));
	assert.ok(v[0] <= nowUs && v[0] > nowUs - 60000000n, `version ${v[0]} is not near the clock ${nowUs}`);
	/* a rolled-back change moves nothing; TRUNCATE moves every account */
	const inTx = pg.psql(`BEGIN; TRUNCATE templates CASCADE;
		SELECT version FROM template_versions WHERE app_id IN (${app}, ${other}) ORDER BY app_id;
		ROLLBACK`).split('\n').map(BigInt);
	assert.ok(inTx[0] > v[0] && inTx[1] > v[1], `TRUNCATE: ${inTx} after ${v}`);
	moved(v, 'rolled back', { a: false });
});
