'use strict';
/*
 * The custom blacklist (ses-api.md 5.8): CreateCustomBlacklist, ListCustomBlacklist,
 * UpdateCustomBlackList, DeleteCustomBlackList through the official Node SDK, against a real
 * PostgreSQL and sesd. The configured zone is chosen so that "today" there differs from
 * today in UTC while the test runs (UTC-11 before 10:00 UTC, UTC+14 after): expiry and
 * CreateTime must follow [sesd] time_zone, not UTC.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startPg, startSesd, sdkClient, expectCode, randomAlnum } = require('./lib/stack');

const ZONE = new Date().getUTCHours() < 10 ? 'Pacific/Pago_Pago' : 'Pacific/Kiritimati';

let pg;
let sesd;
let A; /* account 1000001 */
let B; /* account 1000002 */
let C; /* account 1000003: the bulk test */

before(async () => {
	pg = await startPg();
	const accounts = [1, 2, 3].map((i) => ({
		secretId: `AKIDtestBL${i}`.padEnd(36, '0'),
		secretKey: randomAlnum(32),
		appId: 1000000 + i,
	}));
	sesd = await startSesd({ pg, accounts, conf: { sesd: { time_zone: ZONE }, api: { rate_limit: 0 } } });
	A = sdkClient(sesd, 0);
	B = sdkClient(sesd, 1);
	C = sdkClient(sesd, 2);
});

after(async () => {
	if (sesd)
		await sesd.stop();
	if (pg)
		await pg.stop();
});

/* "YYYY-MM-DD" of today + days in the configured zone, by PostgreSQL's clock and tzdata */
function day(days = 0) {
	return pg.psql(`SELECT to_char((now() AT TIME ZONE '${ZONE}')::date + ${days}, 'YYYY-MM-DD')`);
}

async function list(client, { Status = 2, Limit = 100, Offset = 0, Email } = {}) {
	const req = { Status, Limit, Offset };
	if (Email !== undefined)
		req.Email = Email;
	const r = await client.ListCustomBlacklist(req);
	assert.equal(typeof r.TotalCount, 'number', JSON.stringify(r));
	assert.ok(Array.isArray(r.Data), JSON.stringify(r));
	return r;
}

function emailsOf(r) {
	return r.Data.map((d) => d.Email);
}

/* An address of exactly n bytes (n >= 70) that email_valid accepts apart from its length. */
function addressOfLength(n, localChar = 'a') {
	let k = n - 64 - 1 - 4; /* "a"*64 "@" ... ".com" */
	const labels = [];
	while (k > 63) {
		labels.push('b'.repeat(62));
		k -= 63; /* label + dot */
	}
	labels.push('b'.repeat(k));
	const addr = `${localChar.repeat(64)}@${labels.join('.')}.com`;
	assert.equal(addr.length, n);
	return addr;
}

test('official example: two identical and one malformed', async () => {
	const r = await A.CreateCustomBlacklist({ Emails: ['same@example.com', 'same@example.com', 'not-an-address'] });
	assert.deepEqual({
		TotalCount: r.TotalCount, ValidCount: r.ValidCount, TooLongCount: r.TooLongCount,
		RepeatCount: r.RepeatCount, InvalidCount: r.InvalidCount,
	}, { TotalCount: 3, ValidCount: 1, TooLongCount: 0, RepeatCount: 1, InvalidCount: 1 });
	for (const k of ['TotalCount', 'ValidCount', 'TooLongCount', 'RepeatCount', 'InvalidCount'])
		assert.equal(typeof r[k], 'number', k);
	const l = await list(A);
	assert.equal(l.TotalCount, 1);
	assert.deepEqual(emailsOf(l), ['same@example.com']);
	/* stored as a custom, all-domain suppression */
	assert.equal(pg.psql("SELECT reason, coalesce(domain, '<null>'), email, coalesce(expire_date::text, '<null>') "
		+ "FROM suppressions WHERE app_id = 1000001"), 'custom|<null>|same@example.com|<null>');
});

test('Create counters: too long, malformed, case-insensitive repeats, already listed', async () => {
	const max = addressOfLength(254);
	const tooLong = addressOfLength(255);
	const r = await A.CreateCustomBlacklist({
		Emails: [
			'One@Example.com', 'one@example.COM', /* repeat within the call */
			'SAME@example.com', /* already listed (official example) */
			max, tooLong, 'x'.repeat(300),
			'a..b@example.com', '@example.com', 'no-domain@', 'two@localhost', '',
			'two@example.com',
		],
	});
	assert.equal(r.TotalCount, 12);
	assert.equal(r.ValidCount, 3); /* One@, max, two@ */
	assert.equal(r.RepeatCount, 2);
	assert.equal(r.TooLongCount, 2);
	assert.equal(r.InvalidCount, 5);
	const l = await list(A);
	assert.equal(l.TotalCount, 4);
	/* the first spelling is kept */
	assert.deepEqual(emailsOf(l).sort(), ['One@Example.com', max, 'same@example.com', 'two@example.com'].sort());
	/* a second identical call stores nothing */
	const again = await A.CreateCustomBlacklist({ Emails: ['two@EXAMPLE.com', 'one@example.com'] });
	assert.deepEqual([again.TotalCount, again.ValidCount, again.RepeatCount, again.InvalidCount, again.TooLongCount],
		[2, 0, 2, 0, 0]);
});

test('Create: ExpireDate handling', async () => {
	const today = day(0);
	const r = await A.CreateCustomBlacklist({ Emails: ['today@example.com'], ExpireDate: today });
	assert.equal(r.ValidCount, 1);
	const r2 = await A.CreateCustomBlacklist({ Emails: ['leap@example.com'], ExpireDate: '2096-02-29' });
	assert.equal(r2.ValidCount, 1);
	const r3 = await A.CreateCustomBlacklist({ Emails: ['empty-date@example.com'], ExpireDate: '' });
	assert.equal(r3.ValidCount, 1);
	const l = await list(A, { Email: 'today@' });
	assert.equal(l.Data[0].ExpireDate, today);
	assert.equal(l.Data[0].Status, 1);
	assert.equal((await list(A, { Email: 'leap@' })).Data[0].ExpireDate, '2096-02-29');
	assert.equal((await list(A, { Email: 'empty-date@' })).Data[0].ExpireDate, '');

	const before = (await list(A)).TotalCount;
	for (const bad of ['2025-13-01', '2025-00-10', '2031-02-29', '2100-02-29', '2030-04-31', '2030-01-00',
		'2030/01/01', '30-01-01', '2030-1-1', '2030-01-01 00:00:00', ' 2030-01-01', 'tomorrow', '0000-01-01',
		day(-1), '2000-01-01']) {
		const err = await expectCode(A.CreateCustomBlacklist({ Emails: ['dated@example.com'], ExpireDate: bad }),
			'InvalidParameterValue.WrongDate');
		assert.ok(err.message.length > 0);
	}
	assert.equal((await list(A)).TotalCount, before, 'a rejected call stores nothing');
});

test('Create: errors for Emails', async () => {
	await expectCode(A.CreateCustomBlacklist({}), 'MissingParameter.EmailsNecessary');
	await expectCode(A.CreateCustomBlacklist({ Emails: [] }), 'MissingParameter.EmailsNecessary');
	await expectCode(A.CreateCustomBlacklist({ Emails: 'a@example.com' }), 'InvalidParameter');
	await expectCode(A.CreateCustomBlacklist({ Emails: [1] }), 'InvalidParameter');
	await expectCode(A.CreateCustomBlacklist({ Emails: ['a@example.com'], ExpireDate: 20300101 }), 'InvalidParameter');
	await expectCode(A.CreateCustomBlacklist({ Emails: ['a@example.com'], Foo: 1 }), 'UnknownParameter');
	const tooMany = Array.from({ length: 20001 }, (_, i) => `u${i}@bulk.example.com`);
	await expectCode(C.CreateCustomBlacklist({ Emails: tooMany }), 'LimitExceeded.ReceiverDetailRequestLimit');
	assert.equal((await list(C)).TotalCount, 0);
});

test('Create: 20,000 addresses in one call (the documented maximum)', async () => {
	const emails = Array.from({ length: 20000 }, (_, i) => `u${i}@bulk.example.com`);
	const r = await C.CreateCustomBlacklist({ Emails: emails });
	assert.equal(r.TotalCount, 20000);
	assert.equal(r.ValidCount, 20000);
	assert.equal(r.RepeatCount, 0);
	const l = await list(C, { Limit: 1 });
	assert.equal(l.TotalCount, 20000);
	assert.equal(l.Data.length, 1);
	assert.equal(l.Data[0].Email, 'u19999@bulk.example.com', 'newest first: the last address of the call');
	await C.DeleteCustomBlackList({ Emails: emails });
	assert.equal((await list(C)).TotalCount, 0);
});

test('List: shape, expiry status in the configured zone, filters and paging', async () => {
	/* a fresh set in B: 5 entries */
	const mk = ['p1@list.example.com', 'p2@list.example.com', 'p3@list.example.com', 'Q4@Other.example.org',
		'q5@other.example.org'];
	for (const e of mk)
		await B.CreateCustomBlacklist({ Emails: [e], ExpireDate: day(30) });
	/* p1 expired yesterday, p2 expires today (still active), q5 permanent */
	pg.psql(`UPDATE suppressions SET expire_date = '${day(-1)}' WHERE app_id = 1000002 AND email = 'p1@list.example.com'`);
	pg.psql(`UPDATE suppressions SET expire_date = '${day(0)}' WHERE app_id = 1000002 AND email = 'p2@list.example.com'`);
	pg.psql("UPDATE suppressions SET expire_date = NULL WHERE app_id = 1000002 AND email = 'q5@other.example.org'");

	const all = await list(B);
	assert.equal(all.TotalCount, 5);
	assert.deepEqual(emailsOf(all), [...mk].reverse(), 'newest first');
	for (const d of all.Data) {
		assert.deepEqual(Object.keys(d).sort(), ['CreateTime', 'Email', 'ExpireDate', 'Id', 'Status']);
		assert.equal(typeof d.Id, 'number');
		assert.equal(typeof d.Status, 'number');
		assert.match(d.CreateTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
		const want = pg.psql(`SELECT to_char(created_at AT TIME ZONE '${ZONE}', 'YYYY-MM-DD HH24:MI:SS') `
			+ `FROM suppressions WHERE id = ${d.Id}`);
		assert.equal(d.CreateTime, want, 'CreateTime is in the configured zone');
	}
	const by = Object.fromEntries(all.Data.map((d) => [d.Email, d]));
	assert.equal(by['p1@list.example.com'].Status, 0);
	assert.equal(by['p1@list.example.com'].ExpireDate, day(-1));
	assert.equal(by['p2@list.example.com'].Status, 1);
	assert.equal(by['p2@list.example.com'].ExpireDate, day(0));
	assert.equal(by['p3@list.example.com'].Status, 1);
	assert.equal(by['p3@list.example.com'].ExpireDate, day(30));
	assert.equal(by['q5@other.example.org'].Status, 1);
	assert.equal(by['q5@other.example.org'].ExpireDate, '');

	const expired = await list(B, { Status: 0 });
	assert.equal(expired.TotalCount, 1);
	assert.deepEqual(emailsOf(expired), ['p1@list.example.com']);
	const active = await list(B, { Status: 1 });
	assert.equal(active.TotalCount, 4);
	assert.ok(active.Data.every((d) => d.Status === 1));

	/* Email: case-insensitive substring */
	const f = await list(B, { Email: 'OTHER.EXAMPLE' });
	assert.equal(f.TotalCount, 2);
	assert.deepEqual(emailsOf(f), ['q5@other.example.org', 'Q4@Other.example.org']);
	assert.equal((await list(B, { Email: 'p2@list.example.com' })).TotalCount, 1);
	assert.equal((await list(B, { Email: 'p%' })).TotalCount, 0, 'no LIKE wildcards');
	assert.equal((await list(B, { Email: '' })).TotalCount, 5, 'empty filter = all');
	const fe = await list(B, { Email: 'list.example', Status: 0 });
	assert.deepEqual(emailsOf(fe), ['p1@list.example.com'], 'filters combine');
	assert.equal((await list(B, { Email: 'nobody' })).TotalCount, 0);

	/* paging */
	const p0 = await list(B, { Limit: 2, Offset: 0 });
	const p1 = await list(B, { Limit: 2, Offset: 2 });
	const p2 = await list(B, { Limit: 2, Offset: 4 });
	const p3 = await list(B, { Limit: 2, Offset: 5 });
	assert.deepEqual([p0.TotalCount, p1.TotalCount, p2.TotalCount, p3.TotalCount], [5, 5, 5, 5]);
	assert.deepEqual([p0.Data.length, p1.Data.length, p2.Data.length, p3.Data.length], [2, 2, 1, 0]);
	const ids = [...p0.Data, ...p1.Data, ...p2.Data].map((d) => d.Id);
	assert.deepEqual(ids, all.Data.map((d) => d.Id));
	assert.deepEqual(ids, [...ids].sort((x, y) => y - x), 'ids descending');
	const far = await list(B, { Limit: 100, Offset: 1000 });
	assert.equal(far.TotalCount, 5);
	assert.deepEqual(far.Data, []);
});

test('List: errors', async () => {
	await expectCode(A.ListCustomBlacklist({ Status: 2, Limit: 0, Offset: 0 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListCustomBlacklist({ Status: 2, Limit: 101, Offset: 0 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListCustomBlacklist({ Status: 2, Limit: 10, Offset: -1 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListCustomBlacklist({ Status: 3, Limit: 10, Offset: 0 }), 'InvalidParameterValue');
	await expectCode(A.ListCustomBlacklist({ Status: -1, Limit: 10, Offset: 0 }), 'InvalidParameterValue');
	await expectCode(A.ListCustomBlacklist({ Limit: 10, Offset: 0 }), 'MissingParameter');
	await expectCode(A.ListCustomBlacklist({ Status: 2, Offset: 0 }), 'MissingParameter');
	await expectCode(A.ListCustomBlacklist({ Status: 2, Limit: 10 }), 'MissingParameter');
	await expectCode(A.ListCustomBlacklist({ Status: '2', Limit: 10, Offset: 0 }), 'InvalidParameter');
	await expectCode(A.ListCustomBlacklist({ Status: 2, Limit: 10, Offset: 0, Email: 5 }), 'InvalidParameter');
});

test('Update: address and expiry', async () => {
	await A.CreateCustomBlacklist({ Emails: ['upd1@example.com', 'upd2@example.com'] });
	const id1 = (await list(A, { Email: 'upd1@' })).Data[0].Id;
	const id2 = (await list(A, { Email: 'upd2@' })).Data[0].Id;

	/* new address and an expiry */
	const r = await A.UpdateCustomBlackList({ Id: id1, Email: 'renamed@example.com', ExpireDate: day(10) });
	assert.equal(typeof r.RequestId, 'string');
	let e = (await list(A, { Email: 'renamed@' })).Data[0];
	assert.equal(e.Id, id1);
	assert.equal(e.ExpireDate, day(10));
	assert.equal(e.Status, 1);
	assert.equal((await list(A, { Email: 'upd1@' })).TotalCount, 0);

	/* "" = permanent */
	await A.UpdateCustomBlackList({ Id: id1, Email: 'renamed@example.com', ExpireDate: '' });
	e = (await list(A, { Email: 'renamed@' })).Data[0];
	assert.equal(e.ExpireDate, '');
	/* absent = permanent as well; a change of case only is fine for the same entry */
	await A.UpdateCustomBlackList({ Id: id1, Email: 'renamed@example.com', ExpireDate: day(3) });
	await A.UpdateCustomBlackList({ Id: id1, Email: 'Renamed@Example.com' });
	e = (await list(A, { Email: 'renamed@' })).Data[0];
	assert.equal(e.Email, 'Renamed@Example.com');
	assert.equal(e.ExpireDate, '');

	/* an expired entry is renewed by Update */
	pg.psql(`UPDATE suppressions SET expire_date = '${day(-3)}' WHERE id = ${id2}`);
	assert.equal((await list(A, { Email: 'upd2@' })).Data[0].Status, 0);
	await A.UpdateCustomBlackList({ Id: id2, Email: 'upd2@example.com', ExpireDate: day(1) });
	assert.equal((await list(A, { Email: 'upd2@' })).Data[0].Status, 1);

	/* errors */
	await expectCode(A.UpdateCustomBlackList({ Id: id2, Email: 'not-an-address' }),
		'InvalidParameterValue.IllegalEmailAddress');
	await expectCode(A.UpdateCustomBlackList({ Id: id2, Email: '' }), 'InvalidParameterValue.IllegalEmailAddress');
	await expectCode(A.UpdateCustomBlackList({ Id: id2, Email: addressOfLength(255) }),
		'InvalidParameterValue.IllegalEmailAddress');
	await A.UpdateCustomBlackList({ Id: id2, Email: addressOfLength(254, 'e'), ExpireDate: day(1) });
	await A.UpdateCustomBlackList({ Id: id2, Email: 'upd2@example.com', ExpireDate: day(1) });
	for (const bad of ['2030-02-30', '2030-1-01', 'soon', day(-1)])
		await expectCode(A.UpdateCustomBlackList({ Id: id2, Email: 'upd2@example.com', ExpireDate: bad }),
			'InvalidParameterValue.WrongDate');
	const unknown = await expectCode(A.UpdateCustomBlackList({ Id: 987654321, Email: 'x@example.com' }),
		'InvalidParameterValue');
	assert.match(unknown.message, /987654321/);
	const dup = await expectCode(A.UpdateCustomBlackList({ Id: id2, Email: 'RENAMED@example.com' }),
		'InvalidParameterValue');
	assert.match(dup.message, /already/);
	await expectCode(A.UpdateCustomBlackList({ Email: 'x@example.com' }), 'MissingParameter');
	await expectCode(A.UpdateCustomBlackList({ Id: id2 }), 'MissingParameter');
	await expectCode(A.UpdateCustomBlackList({ Id: String(id2), Email: 'x@example.com' }), 'InvalidParameter');
	/* nothing changed by the failures */
	e = (await list(A, { Email: 'upd2@' })).Data[0];
	assert.equal(e.Id, id2);
	assert.equal(e.ExpireDate, day(1));
	assert.equal((await list(A, { Email: 'renamed@' })).Data[0].Email, 'Renamed@Example.com');
});

test('Delete: case-insensitive, unknown addresses ignored, other reasons untouched', async () => {
	await A.CreateCustomBlacklist({ Emails: ['del1@example.com', 'Del2@Example.com', 'keep@example.com'] });
	/* a delivery-made suppression of the same address must stay */
	pg.psql("INSERT INTO suppressions (app_id, reason, domain, email) VALUES (1000001, 'unsubscribe', 'mail.example.com', 'del1@example.com')");
	const before = (await list(A)).TotalCount;
	const r = await A.DeleteCustomBlackList({ Emails: ['DEL1@example.com', 'del2@example.com', 'never@example.com', 'junk'] });
	assert.equal(typeof r.RequestId, 'string');
	const after = await list(A);
	assert.equal(after.TotalCount, before - 2);
	assert.ok(!emailsOf(after).some((e) => /^del[12]@/i.test(e)));
	assert.ok(emailsOf(after).includes('keep@example.com'));
	assert.equal(pg.psql("SELECT count(*) FROM suppressions WHERE reason = 'unsubscribe' AND email = 'del1@example.com'"), '1');
	/* deleting again is harmless */
	await A.DeleteCustomBlackList({ Emails: ['del1@example.com'] });
	assert.equal((await list(A)).TotalCount, before - 2);
	/* the unsubscribe row does not make a custom entry a repeat */
	const again = await A.CreateCustomBlacklist({ Emails: ['del1@example.com'] });
	assert.equal(again.ValidCount, 1);

	await expectCode(A.DeleteCustomBlackList({}), 'MissingParameter.EmailsNecessary');
	await expectCode(A.DeleteCustomBlackList({ Emails: [] }), 'MissingParameter.EmailsNecessary');
	await expectCode(A.DeleteCustomBlackList({ Emails: 'keep@example.com' }), 'InvalidParameter');
	await expectCode(A.DeleteCustomBlackList({ Emails: Array.from({ length: 20001 }, (_, i) => `d${i}@example.com`) }),
		'LimitExceeded.ReceiverDetailRequestLimit');
	assert.ok(emailsOf(await list(A)).includes('keep@example.com'));
});

test('isolation between accounts', async () => {
	const a = await list(A, { Email: 'keep@' });
	assert.equal(a.TotalCount, 1);
	const aId = a.Data[0].Id;
	const aTotal = (await list(A)).TotalCount;

	/* B sees none of A's entries */
	const b = await list(B);
	assert.ok(!emailsOf(b).includes('keep@example.com'));
	assert.equal((await list(B, { Email: 'keep@' })).TotalCount, 0);
	assert.ok(!b.Data.some((d) => d.Id === aId));

	/* the same address in B is B's own entry, not a repeat */
	const c = await B.CreateCustomBlacklist({ Emails: ['keep@example.com'] });
	assert.equal(c.ValidCount, 1);
	assert.equal(c.RepeatCount, 0);

	/* B can neither update nor delete A's entry */
	await expectCode(B.UpdateCustomBlackList({ Id: aId, Email: 'stolen@example.com' }), 'InvalidParameterValue');
	await B.DeleteCustomBlackList({ Emails: ['keep@example.com'] });
	assert.equal((await list(B, { Email: 'keep@' })).TotalCount, 0);
	const a2 = await list(A, { Email: 'keep@' });
	assert.equal(a2.TotalCount, 1);
	assert.equal(a2.Data[0].Email, 'keep@example.com');
	assert.equal(a2.Data[0].ExpireDate, '');
	assert.equal((await list(A)).TotalCount, aTotal);
	assert.equal(pg.psql("SELECT count(*) FROM suppressions WHERE email = 'stolen@example.com'"), '0');
});
