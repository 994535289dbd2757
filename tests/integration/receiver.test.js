'use strict';
/*
 * Recipient lists (ses-api.md 5.2) through the official Node SDK: CreateReceiver,
 * CreateReceiverDetail, CreateReceiverDetailWithData, ListReceivers, ListReceiverDetails,
 * DeleteReceiver. Counters, byte-for-byte TemplateData, filters, paging, every error code,
 * the upload status (1 -> 2 -> 3, stale uploads, undo after a failed insert), limits and
 * account isolation.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startPg, startSesd, sdkClient, expectCode, randomAlnum } = require('./lib/stack');

let pg;
let sesd; /* default limits */
let small; /* [limits] receivers = 2, receivers_per_list = 5 */
let A; /* account A of sesd */
let B; /* account B of sesd */

const TIME_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

before(async () => {
	pg = await startPg();
	sesd = await startSesd({ pg, conf: { api: { rate_limit: 0 } } });
	small = await startSesd({
		pg,
		conf: { api: { rate_limit: 0 }, limits: { receivers: 2, receivers_per_list: 5 } },
		accounts: [{ secretId: 'AKIDsmallC00000000000000000000000003', secretKey: randomAlnum(32), appId: 2000003 }],
	});
	A = sdkClient(sesd, 0);
	B = sdkClient(sesd, 1);
});

after(async () => {
	if (small)
		await small.stop();
	if (sesd)
		await sesd.stop();
	if (pg)
		await pg.stop();
});

let seq = 0;
async function newList(client = A, extra = {}) {
	const r = await client.CreateReceiver({ ReceiversName: `list-${++seq}-${randomAlnum(6)}`, ...extra });
	assert.equal(typeof r.ReceiverId, 'number', JSON.stringify(r));
	return r.ReceiverId;
}

async function findList(client, id) {
	const r = await client.ListReceivers({ Offset: 0, Limit: 100 });
	return r.Data.find((d) => d.ReceiverId === id);
}

async function allDetails(client, id, extra = {}) {
	const out = [];
	let last;
	for (let off = 0; ; off += 100) {
		last = await client.ListReceiverDetails({ ReceiverId: id, Offset: off, Limit: 100, ...extra });
		out.push(...last.Data);
		if (last.Data.length < 100)
			break;
	}
	return { rows: out, last };
}

/* "YYYY-MM-DD HH:MM:SS" plus secs, as wall time (no zone arithmetic) */
function addSeconds(t, secs) {
	const d = new Date(t.replace(' ', 'T') + 'Z');
	d.setUTCSeconds(d.getUTCSeconds() + secs);
	return d.toISOString().slice(0, 19).replace('T', ' ');
}

test('CreateReceiver and ListReceivers: shape, validation, uniqueness', async () => {
	const name = `Newsletter ${randomAlnum(8)}`;
	const r = await A.CreateReceiver({ ReceiversName: name, Desc: 'monthly readers' });
	assert.ok(Number.isInteger(r.ReceiverId) && r.ReceiverId > 0);
	const d = await findList(A, r.ReceiverId);
	assert.deepEqual(Object.keys(d).sort(),
		['Count', 'CreateTime', 'Desc', 'InvalidCount', 'ReceiverId', 'ReceiversName', 'ReceiversStatus']);
	assert.equal(d.ReceiversName, name);
	assert.equal(d.Desc, 'monthly readers');
	assert.equal(d.Count, 0);
	assert.equal(d.ReceiversStatus, 1);
	assert.equal(d.InvalidCount, 0);
	assert.match(d.CreateTime, TIME_RE);

	/* without Desc -> "" */
	const id2 = await newList();
	assert.equal((await findList(A, id2)).Desc, '');

	/* 200 characters (multi-byte) are fine, 201 are not */
	const long = '名'.repeat(200);
	const r3 = await A.CreateReceiver({ ReceiversName: long, Desc: 'д'.repeat(300) });
	assert.equal((await findList(A, r3.ReceiverId)).ReceiversName, long);
	await expectCode(A.CreateReceiver({ ReceiversName: '名'.repeat(201) }), 'InvalidParameterValue.ReceiverNameIllegal');
	await expectCode(A.CreateReceiver({ ReceiversName: '' }), 'InvalidParameterValue.ReceiverNameIllegal');
	await expectCode(A.CreateReceiver({ ReceiversName: 'a\nb' }), 'InvalidParameterValue.ReceiverNameIllegal');
	await expectCode(A.CreateReceiver({ ReceiversName: 'a\u0085b' }), 'InvalidParameterValue.ReceiverNameIllegal');
	await expectCode(A.CreateReceiver({ ReceiversName: 'x-desc', Desc: '' }), 'InvalidParameterValue.ReceiverDescIllegal');
	await expectCode(A.CreateReceiver({ ReceiversName: 'x-desc', Desc: 'd'.repeat(301) }),
		'InvalidParameterValue.ReceiverDescIllegal');
	await expectCode(A.CreateReceiver({ ReceiversName: 'x-desc', Desc: 'tab\there' }),
		'InvalidParameterValue.ReceiverDescIllegal');
	await expectCode(A.CreateReceiver({}), 'MissingParameter');
	await expectCode(A.CreateReceiver({ ReceiversName: 5 }), 'InvalidParameter');
	await expectCode(A.CreateReceiver({ ReceiversName: 'x', Foo: 1 }), 'UnknownParameter');

	/* unique per account, exact name */
	await expectCode(A.CreateReceiver({ ReceiversName: name }), 'InvalidParameterValue.RepeatReceiverName');
	const other = await B.CreateReceiver({ ReceiversName: name });
	assert.ok(other.ReceiverId > 0);
	assert.notEqual(other.ReceiverId, r.ReceiverId);
});

test('CreateReceiverDetail: counters for duplicates, empty and too long addresses', async () => {
	const id = await newList();
	const tooLong = 'x'.repeat(64) + '@' + ('d'.repeat(60) + '.').repeat(3) + 'example.com'; /* 259 bytes */
	assert.ok(tooLong.length > 254);
	const r = await A.CreateReceiverDetail({
		ReceiverId: id,
		Emails: ['a@example.com', 'A@Example.COM', '', tooLong, 'b@example.com', 'a@example.com', '', 'c@example.com'],
	});
	assert.equal(r.TotalCount, 8);
	assert.equal(r.ValidCount, 3);
	assert.equal(r.TooLongCount, 1);
	assert.equal(r.EmptyEmailCount, 2);
	assert.equal(r.RepeatCount, 2);
	assert.equal(typeof r.RequestId, 'string');

	/* sesd completes the upload before answering: status 3 at once */
	let d = await findList(A, id);
	assert.equal(d.ReceiversStatus, 3);
	assert.equal(d.Count, 3);

	/* appending: duplicates of stored rows count as repeats, case-insensitively */
	const r2 = await A.CreateReceiverDetail({ ReceiverId: id, Emails: ['B@EXAMPLE.COM', 'd@example.com', 'D@example.com'] });
	assert.deepEqual([r2.TotalCount, r2.ValidCount, r2.TooLongCount, r2.EmptyEmailCount, r2.RepeatCount], [3, 1, 0, 0, 2]);
	d = await findList(A, id);
	assert.equal(d.Count, 4);
	assert.equal(d.ReceiversStatus, 3);

	const det = await A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10 });
	assert.equal(det.TotalCount, 4);
	assert.equal(det.ValidCount, 4);
	assert.equal(det.InvalidCount, 0);
	/* upload order, first spelling kept */
	assert.deepEqual(det.Data.map((x) => x.Email), ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com']);
	for (const x of det.Data) {
		assert.deepEqual(Object.keys(x).sort(), ['CreateTime', 'Email', 'EmailId', 'Reason', 'Status', 'TemplateData']);
		assert.equal(x.TemplateData, '');
		assert.equal(x.Reason, '');
		assert.equal(x.Status, 1);
		assert.ok(Number.isInteger(x.EmailId));
		assert.match(x.CreateTime, TIME_RE);
	}
	assert.equal(new Set(det.Data.map((x) => x.EmailId)).size, 4);

	/* only empty / too long: nothing stored, still a success */
	const r3 = await A.CreateReceiverDetail({ ReceiverId: id, Emails: ['', tooLong] });
	assert.deepEqual([r3.TotalCount, r3.ValidCount, r3.TooLongCount, r3.EmptyEmailCount, r3.RepeatCount], [2, 0, 1, 1, 0]);
	assert.equal((await findList(A, id)).Count, 4);

	/* an empty list that receives nothing stays at status 1 */
	const id2 = await newList();
	await A.CreateReceiverDetail({ ReceiverId: id2, Emails: [''] });
	assert.equal((await findList(A, id2)).ReceiversStatus, 1);
});

test('CreateReceiverDetail: errors', async () => {
	const id = await newList();
	await A.CreateReceiverDetail({ ReceiverId: id, Emails: ['keep@example.com'] });

	const e = await expectCode(A.CreateReceiverDetail({ ReceiverId: id, Emails: ['ok@example.com', 'not an address'] }),
		'InvalidParameterValue.ReceiverEmailInvalid');
	assert.match(e.message, /Emails\.1 `not an address`/);
	await expectCode(A.CreateReceiverDetail({ ReceiverId: id, Emails: ['a@@example.com'] }),
		'InvalidParameterValue.ReceiverEmailInvalid');
	await expectCode(A.CreateReceiverDetail({ ReceiverId: id, Emails: ['a@nodot'] }),
		'InvalidParameterValue.ReceiverEmailInvalid');
	/* all or nothing: ok@example.com was not stored */
	const d = await findList(A, id);
	assert.equal(d.Count, 1);
	assert.equal(d.ReceiversStatus, 3);

	await expectCode(A.CreateReceiverDetail({ ReceiverId: id, Emails: [] }), 'MissingParameter.EmailsNecessary');
	await expectCode(A.CreateReceiverDetail({ ReceiverId: id }), 'MissingParameter.EmailsNecessary');
	await expectCode(A.CreateReceiverDetail({ Emails: ['a@example.com'] }), 'MissingParameter.ReceiverIdNecessary');
	await expectCode(A.CreateReceiverDetail({ ReceiverId: String(id), Emails: ['a@example.com'] }), 'InvalidParameter');
	await expectCode(A.CreateReceiverDetail({ ReceiverId: id, Emails: [1] }), 'InvalidParameter');
	await expectCode(A.CreateReceiverDetail({ ReceiverId: id, Emails: ['a@example.com'], X: 1 }), 'UnknownParameter');
	await expectCode(A.CreateReceiverDetail({ ReceiverId: 987654321, Emails: ['a@example.com'] }),
		'OperationDenied.ReceiverNotExist');

	const many = Array.from({ length: 20001 }, (_, i) => `u${i}@example.com`);
	const big = await expectCode(A.CreateReceiverDetail({ ReceiverId: id, Emails: many }),
		'LimitExceeded.ReceiverDetailRequestLimit');
	assert.match(big.message, /20001/);
	assert.equal((await findList(A, id)).Count, 1);
});

test('CreateReceiverDetailWithData: data stored byte for byte, shown by ListReceiverDetails', async () => {
	const id = await newList();
	const datas = [
		{ Email: 'ann@example.com', TemplateData: '{"name":"Ann","code":"A1"}' },
		{ Email: 'bob@example.com', TemplateData: ' { "code" : "B\\u0032" , "name" : "Bób \\"the\\" builder" } ' },
		{ Email: 'cy@example.com', TemplateData: '{"name":"1 < 2 & 3 > 2","code":"😀 \\ud83d\\ude00"}' },
		{ Email: 'ANN@example.com', TemplateData: '{"name":"dup","code":"x"}' },
		{ Email: '', TemplateData: '{"name":"empty","code":"x"}' },
	];
	const r = await A.CreateReceiverDetailWithData({ ReceiverId: id, Datas: datas });
	assert.deepEqual([r.TotalCount, r.ValidCount, r.TooLongCount, r.EmptyEmailCount, r.RepeatCount], [5, 3, 0, 1, 1]);
	const d = await findList(A, id);
	assert.equal(d.ReceiversStatus, 3);
	assert.equal(d.Count, 3);

	const det = await A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10 });
	assert.equal(det.TotalCount, 3);
	assert.deepEqual(det.Data.map((x) => [x.Email, x.TemplateData]), datas.slice(0, 3).map((x) => [x.Email, x.TemplateData]));
	assert.equal(pg.psql(`SELECT array_to_string(data_keys, ',') FROM receivers WHERE id = ${id}`), 'code,name');

	/* appending with the same key set works */
	const r2 = await A.CreateReceiverDetailWithData({ ReceiverId: id,
		Datas: [{ Email: 'dee@example.com', TemplateData: '{"code":"D","name":"Dee"}' }] });
	assert.equal(r2.ValidCount, 1);
	assert.equal((await findList(A, id)).Count, 4);

	/* 800 bytes are fine */
	const pad = 800 - '{"name":"","code":"c"}'.length;
	const exact = `{"name":"${'n'.repeat(pad)}","code":"c"}`;
	assert.equal(Buffer.byteLength(exact), 800);
	const r3 = await A.CreateReceiverDetailWithData({ ReceiverId: id, Datas: [{ Email: 'max@example.com', TemplateData: exact }] });
	assert.equal(r3.ValidCount, 1);
	const last = await A.ListReceiverDetails({ ReceiverId: id, Offset: 4, Limit: 1 });
	assert.equal(last.Data[0].TemplateData, exact);
});

test('CreateReceiverDetailWithData: TemplateData and address errors', async () => {
	const id = await newList();
	await A.CreateReceiverDetailWithData({ ReceiverId: id, Datas: [{ Email: 'first@example.com', TemplateData: '{"a":"1","b":"2"}' }] });
	const up = (Datas, rid = id) => A.CreateReceiverDetailWithData({ ReceiverId: rid, Datas });
	const row = (TemplateData, Email = 'x@example.com') => ({ Email, TemplateData });

	/* within one call */
	let e = await expectCode(up([row('{"a":"1","b":"2"}'), row('{"a":"1","c":"2"}', 'y@example.com')]),
		'InvalidParameterValue.TemplateDataInconsistent');
	assert.match(e.message, /Datas\.1/);
	/* against the list's keys, in any order of the JSON */
	await expectCode(up([row('{"a":"1"}')]), 'InvalidParameterValue.TemplateDataInconsistent');
	await expectCode(up([row('{"a":"1","b":"2","c":"3"}')]), 'InvalidParameterValue.TemplateDataInconsistent');
	assert.equal((await up([row('{"b":"2","a":"1"}')])).ValidCount, 1);
	/* plain addresses into a list with data */
	await expectCode(A.CreateReceiverDetail({ ReceiverId: id, Emails: ['p@example.com'] }),
		'InvalidParameterValue.TemplateDataInconsistent');

	/* data into a list filled without data */
	const plain = await newList();
	await A.CreateReceiverDetail({ ReceiverId: plain, Emails: ['p@example.com'] });
	await expectCode(up([row('{"a":"1","b":"2"}')], plain), 'InvalidParameterValue.TemplateDataInconsistent');

	const long = `{"a":"${'x'.repeat(786)}","b":""}`;
	assert.equal(Buffer.byteLength(long), 801);
	e = await expectCode(up([row('{"a":"1","b":"2"}'), row(long, 'z@example.com')]), 'InvalidParameterValue.TemplateDataLenLimit');
	assert.match(e.message, /Datas\.1.*801/);
	await expectCode(up([row('{"a":"<b>bold</b>","b":""}')]), 'InvalidParameterValue.InValidTemplateData');
	await expectCode(up([row('{"a":"x</p>","b":""}')]), 'InvalidParameterValue.InValidTemplateData');
	await expectCode(up([row('{"a":"<!-- c -->","b":""}')]), 'InvalidParameterValue.InValidTemplateData');
	await expectCode(up([row('{"a":"\\u003cscript>","b":""}')]), 'InvalidParameterValue.InValidTemplateData');
	for (const bad of ['not json', '', '{"a":"1","b":"2"', '["a","b"]', '{"a":1,"b":"2"}', '{"a":null,"b":"2"}',
		'{"a":{"x":"y"},"b":"2"}', '{"a":"1","b":"2"} x', '{"a":"1","a":"2"}', '{a:"1"}', '{"a":"\\x"}'])
		await expectCode(up([row(bad)]), 'InvalidParameterValue.TemplateDataError');

	e = await expectCode(up([row('{"a":"1","b":"2"}'), row('{"a":"1","b":"2"}', 'bad@@example.com')]),
		'InvalidParameterValue.ReceiverEmailInvalid');
	assert.match(e.message, /Datas\.1\.Email `bad@@example.com`/);

	await expectCode(up([]), 'MissingParameter.EmailsNecessary');
	await expectCode(A.CreateReceiverDetailWithData({ ReceiverId: id }), 'MissingParameter.EmailsNecessary');
	await expectCode(A.CreateReceiverDetailWithData({ Datas: [row('{"a":"1","b":"2"}')] }), 'MissingParameter.ReceiverIdNecessary');
	await expectCode(up([{ Email: 'x@example.com' }]), 'MissingParameter');
	await expectCode(up([{ Email: 'x@example.com', TemplateData: { a: '1' } }]), 'InvalidParameter');
	await expectCode(up([{ Email: 'x@example.com', TemplateData: '{}', Extra: 1 }]), 'UnknownParameter');
	await expectCode(up([row('{"a":"1","b":"2"}')], 987654321), 'OperationDenied.ReceiverNotExist');
	const many = Array.from({ length: 20001 }, (_, i) => row('{"a":"1","b":"2"}', `u${i}@example.com`));
	await expectCode(up(many), 'LimitExceeded.ReceiverDetailRequestLimit');

	/* nothing of the failed calls was stored */
	const d = await findList(A, id);
	assert.equal(d.Count, 2);
	assert.equal(d.ReceiversStatus, 3);
});

test('ListReceivers: paging, newest first, Status and KeyWord filters, errors', async () => {
	const tag = randomAlnum(6);
	const ids = [];
	for (const n of [`kw ${tag} alpha`, `KW ${tag} Beta`, `kw ${tag} 100%`, `kw ${tag} a_b`, `kw ${tag} a\\b`])
		ids.push((await A.CreateReceiver({ ReceiversName: n })).ReceiverId);
	await A.CreateReceiverDetail({ ReceiverId: ids[1], Emails: ['s@example.com'] });

	const all = await A.ListReceivers({ Offset: 0, Limit: 100, KeyWord: tag.toLowerCase() === tag ? tag.toUpperCase() : tag.toLowerCase() });
	assert.equal(all.TotalCount, 5);
	assert.deepEqual(all.Data.map((d) => d.ReceiverId), [...ids].reverse());

	const page = await A.ListReceivers({ Offset: 1, Limit: 2, KeyWord: tag });
	assert.equal(page.TotalCount, 5);
	assert.deepEqual(page.Data.map((d) => d.ReceiverId), [ids[3], ids[2]]);
	const beyond = await A.ListReceivers({ Offset: 50, Limit: 2, KeyWord: tag });
	assert.equal(beyond.TotalCount, 5);
	assert.deepEqual(beyond.Data, []);

	/* wildcards in KeyWord are literal */
	assert.deepEqual((await A.ListReceivers({ Offset: 0, Limit: 10, KeyWord: `${tag} 100%` })).Data.map((d) => d.ReceiverId), [ids[2]]);
	assert.deepEqual((await A.ListReceivers({ Offset: 0, Limit: 10, KeyWord: '%' })).Data.map((d) => d.ReceiverId), [ids[2]]);
	assert.deepEqual((await A.ListReceivers({ Offset: 0, Limit: 10, KeyWord: `${tag} a_b` })).Data.map((d) => d.ReceiverId), [ids[3]]);
	assert.deepEqual((await A.ListReceivers({ Offset: 0, Limit: 10, KeyWord: `${tag} a\\b` })).Data.map((d) => d.ReceiverId), [ids[4]]);
	assert.equal((await A.ListReceivers({ Offset: 0, Limit: 10, KeyWord: `${tag} a_` })).TotalCount, 1);

	const s3 = await A.ListReceivers({ Offset: 0, Limit: 100, KeyWord: tag, Status: 3 });
	assert.deepEqual(s3.Data.map((d) => d.ReceiverId), [ids[1]]);
	const s1 = await A.ListReceivers({ Offset: 0, Limit: 100, KeyWord: tag, Status: 1 });
	assert.equal(s1.TotalCount, 4);
	assert.equal((await A.ListReceivers({ Offset: 0, Limit: 100, KeyWord: tag, Status: 2 })).TotalCount, 0);

	await expectCode(A.ListReceivers({ Offset: 0, Limit: 101 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListReceivers({ Offset: 0, Limit: 0 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListReceivers({ Offset: -1, Limit: 10 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListReceivers({ Offset: 0, Limit: '10' }), 'InvalidParameter');
	await expectCode(A.ListReceivers({ Offset: 0 }), 'MissingParameter');
	await expectCode(A.ListReceivers({ Offset: 0, Limit: 10, Status: 4 }), 'InvalidParameterValue');
	await expectCode(A.ListReceivers({ Offset: 0, Limit: 10, Nope: 1 }), 'UnknownParameter');
});

test('ListReceiverDetails: paging and filters', async () => {
	const id = await newList();
	const emails = Array.from({ length: 25 }, (_, i) => `user${String(i).padStart(2, '0')}@${i % 2 ? 'odd' : 'even'}.example.com`);
	emails.push('under_score@example.com', 'percent%sign@example.com');
	await A.CreateReceiverDetail({ ReceiverId: id, Emails: emails });

	const p = await A.ListReceiverDetails({ ReceiverId: id, Offset: 10, Limit: 5 });
	assert.equal(p.TotalCount, 27);
	assert.equal(p.ValidCount, 27);
	assert.equal(p.InvalidCount, 0);
	assert.deepEqual(p.Data.map((x) => x.Email), emails.slice(10, 15));
	const { rows } = await allDetails(A, id);
	assert.deepEqual(rows.map((x) => x.Email), emails);
	const empty = await A.ListReceiverDetails({ ReceiverId: id, Offset: 100, Limit: 5 });
	assert.equal(empty.TotalCount, 27);
	assert.deepEqual(empty.Data, []);

	/* Email: substring, case-insensitive, wildcards literal */
	const odd = await A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 100, Email: 'ODD.Example' });
	assert.equal(odd.TotalCount, 12);
	assert.equal(odd.ValidCount, 27);
	assert.ok(odd.Data.every((x) => x.Email.includes('@odd.')));
	assert.deepEqual((await A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 100, Email: '_' })).Data.map((x) => x.Email),
		['under_score@example.com']);
	assert.deepEqual((await A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 100, Email: '%' })).Data.map((x) => x.Email),
		['percent%sign@example.com']);
	assert.equal((await A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10, Email: '' })).TotalCount, 27);
	await expectCode(A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10, Email: 'e'.repeat(51) }), 'InvalidParameterValue');

	/* Status: every stored row is valid */
	assert.equal((await A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10, Status: 1 })).TotalCount, 27);
	const inv = await A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10, Status: 2 });
	assert.equal(inv.TotalCount, 0);
	assert.deepEqual(inv.Data, []);
	assert.equal(inv.ValidCount, 27);
	await expectCode(A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10, Status: 3 }), 'InvalidParameterValue');

	/* creation time, in the configured zone (the rows' own CreateTime) */
	const t = rows[0].CreateTime;
	const day = t.slice(0, 10);
	const count = async (extra) => (await A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 1, ...extra })).TotalCount;
	assert.equal(await count({ CreateTimeBegin: day, CreateTimeEnd: day }), 27);
	assert.equal(await count({ CreateTimeBegin: t }), 27);
	assert.equal(await count({ CreateTimeEnd: rows[26].CreateTime }), 27); /* inclusive second */
	assert.equal(await count({ CreateTimeBegin: addSeconds(rows[26].CreateTime, 1) }), 0);
	assert.equal(await count({ CreateTimeEnd: addSeconds(t, -1) }), 0);
	assert.equal(await count({ CreateTimeEnd: addSeconds(`${day} 00:00:00`, -1).slice(0, 10) }), 0);
	assert.equal(await count({ CreateTimeBegin: addSeconds(`${day} 00:00:00`, 86400).slice(0, 10) }), 0);
	for (const bad of ['2024-13-01', '2024-02-30', '2024-1-01', '2024/01/01', '2024-01-01T00:00:00', '2024-01-01 24:00:00',
		'yesterday', '2024-01-01 10:00'])
		await expectCode(A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 1, CreateTimeBegin: bad }), 'InvalidParameterValue');
	await expectCode(A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 1, CreateTimeEnd: '2023-02-29' }), 'InvalidParameterValue');
	assert.equal(await count({ CreateTimeEnd: '2024-02-29' }), 0); /* a leap day is a date */

	await expectCode(A.ListReceiverDetails({ ReceiverId: 987654321, Offset: 0, Limit: 10 }), 'OperationDenied.ReceiverNotExist');
	await expectCode(A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 101 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: '10' }), 'InvalidParameter');
	await expectCode(A.ListReceiverDetails({ ReceiverId: id, Offset: 0 }), 'MissingParameter');
	await expectCode(A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10, Zzz: 1 }), 'UnknownParameter');
});

test('upload status: a list being uploaded is refused, a stale upload is taken over', async () => {
	const id = await newList();
	await A.CreateReceiverDetail({ ReceiverId: id, Emails: ['one@example.com'] });
	pg.psql(`UPDATE receivers SET status = 2, upload_started = now() WHERE id = ${id}`);
	assert.equal((await findList(A, id)).ReceiversStatus, 2);
	assert.ok((await A.ListReceivers({ Offset: 0, Limit: 100, Status: 2 })).Data.some((d) => d.ReceiverId === id));
	await expectCode(A.CreateReceiverDetail({ ReceiverId: id, Emails: ['two@example.com'] }), 'OperationDenied.ReceiverIsOperating');
	await expectCode(A.CreateReceiverDetailWithData({ ReceiverId: id, Datas: [{ Email: 't@example.com', TemplateData: '{}' }] }),
		'OperationDenied.ReceiverIsOperating');

	/* a node that died between the statements: after 10 minutes the list is free again */
	pg.psql(`UPDATE receivers SET upload_started = now() - interval '11 minutes' WHERE id = ${id}`);
	const r = await A.CreateReceiverDetail({ ReceiverId: id, Emails: ['two@example.com'] });
	assert.equal(r.ValidCount, 1);
	const d = await findList(A, id);
	assert.equal(d.ReceiversStatus, 3);
	assert.equal(d.Count, 2);
	assert.equal(pg.psql(`SELECT upload_started IS NULL FROM receivers WHERE id = ${id}`), 't');

	/* the stale upload wakes up and writes while the new one runs: simulated by a row that
	 * the list's count (0, so the plain-INSERT path is taken) does not know about yet */
	const id2 = await newList();
	pg.psql(`UPDATE receivers SET status = 2, upload_started = now() - interval '11 minutes' WHERE id = ${id2};
		INSERT INTO receiver_details (receiver_id, email) VALUES (${id2}, 'late@example.com')`);
	await expectCode(A.CreateReceiverDetail({ ReceiverId: id2, Emails: ['new@example.com', 'LATE@example.com'] }),
		'OperationDenied.ReceiverIsOperating');
	assert.equal((await findList(A, id2)).ReceiversStatus, 3); /* put back: it has rows */
	assert.equal(pg.psql(`SELECT string_agg(email, ',') FROM receiver_details WHERE receiver_id = ${id2}`), 'late@example.com');
});

test('upload status: a failed insert puts the status back and reports the error', async () => {
	const empty = await newList();
	const filled = await newList();
	await A.CreateReceiverDetail({ ReceiverId: filled, Emails: ['one@example.com'] });
	pg.psql(`CREATE FUNCTION test_boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.email = 'boom@example.com' THEN RAISE EXCEPTION 'test trigger refuses boom'; END IF;
		RETURN NEW; END $$;
		CREATE TRIGGER test_boom BEFORE INSERT ON receiver_details FOR EACH ROW EXECUTE FUNCTION test_boom()`);
	try {
		await expectCode(A.CreateReceiverDetail({ ReceiverId: empty, Emails: ['ok@example.com', 'boom@example.com'] }), 'InternalError');
		await expectCode(A.CreateReceiverDetail({ ReceiverId: filled, Emails: ['ok@example.com', 'boom@example.com'] }), 'InternalError');
	} finally {
		pg.psql('DROP TRIGGER test_boom ON receiver_details; DROP FUNCTION test_boom()');
	}
	let d = await findList(A, empty);
	assert.deepEqual([d.ReceiversStatus, d.Count], [1, 0]);
	d = await findList(A, filled);
	assert.deepEqual([d.ReceiversStatus, d.Count], [3, 1]);
	/* and the lists take uploads again */
	assert.equal((await A.CreateReceiverDetail({ ReceiverId: empty, Emails: ['ok@example.com'] })).ValidCount, 1);
});

test('limits: lists per account and addresses per list (new addresses only)', async () => {
	const C = sdkClient(small, 0);
	const l1 = (await C.CreateReceiver({ ReceiversName: 'small-1' })).ReceiverId;
	const l2 = (await C.CreateReceiver({ ReceiversName: 'small-2' })).ReceiverId;
	await expectCode(C.CreateReceiver({ ReceiversName: 'small-3' }), 'LimitExceeded.ExceedReceiverLimit');
	/* the limit is per account: account A of the other sesd has many lists and other app ids */

	const six = ['1', '2', '3', '4', '5', '6'].map((n) => `n${n}@example.com`);
	await expectCode(C.CreateReceiverDetail({ ReceiverId: l1, Emails: six }), 'LimitExceeded.ReceiverDetailCountLimit');
	let d = await findList(C, l1);
	assert.deepEqual([d.ReceiversStatus, d.Count], [1, 0]);
	/* duplicates and empties do not count */
	const r = await C.CreateReceiverDetail({ ReceiverId: l1, Emails: [...six.slice(0, 5), 'N1@example.com', ''] });
	assert.deepEqual([r.ValidCount, r.RepeatCount, r.EmptyEmailCount], [5, 1, 1]);
	/* a full list still accepts addresses it already has */
	const again = await C.CreateReceiverDetail({ ReceiverId: l1, Emails: six.slice(0, 5) });
	assert.deepEqual([again.ValidCount, again.RepeatCount], [0, 5]);
	await expectCode(C.CreateReceiverDetail({ ReceiverId: l1, Emails: [six[0], six[5]] }), 'LimitExceeded.ReceiverDetailCountLimit');
	await expectCode(C.CreateReceiverDetailWithData({ ReceiverId: l2,
		Datas: six.map((Email) => ({ Email, TemplateData: '{"k":"v"}' })) }), 'LimitExceeded.ReceiverDetailCountLimit');
	d = await findList(C, l1);
	assert.deepEqual([d.ReceiversStatus, d.Count], [3, 5]);
	d = await findList(C, l2);
	assert.deepEqual([d.ReceiversStatus, d.Count], [1, 0]);
	assert.equal(pg.psql(`SELECT data_keys IS NULL FROM receivers WHERE id = ${l2}`), 't');

	/* deleting frees a slot */
	await C.DeleteReceiver({ ReceiverId: l2 });
	assert.ok((await C.CreateReceiver({ ReceiversName: 'small-3' })).ReceiverId > 0);
});

test('isolation: account B cannot see, fill or delete account A\'s lists', async () => {
	const id = await newList(A);
	await A.CreateReceiverDetail({ ReceiverId: id, Emails: ['secret@example.com'] });
	const mine = await B.ListReceivers({ Offset: 0, Limit: 100 });
	assert.ok(!mine.Data.some((d) => d.ReceiverId === id));
	const everyB = pg.psql('SELECT count(*) FROM receivers WHERE app_id = 1000002');
	assert.equal(mine.TotalCount, Number(everyB));
	await expectCode(B.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10 }), 'OperationDenied.ReceiverNotExist');
	await expectCode(B.CreateReceiverDetail({ ReceiverId: id, Emails: ['b@example.com'] }), 'OperationDenied.ReceiverNotExist');
	await expectCode(B.CreateReceiverDetailWithData({ ReceiverId: id, Datas: [{ Email: 'b@example.com', TemplateData: '{}' }] }),
		'OperationDenied.ReceiverNotExist');
	await expectCode(B.DeleteReceiver({ ReceiverId: id }), 'OperationDenied.ReceiverNotExist');
	const d = await findList(A, id);
	assert.deepEqual([d.Count, d.ReceiversStatus], [1, 3]);
	const det = await A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10 });
	assert.deepEqual(det.Data.map((x) => x.Email), ['secret@example.com']);
});

test('DeleteReceiver: removes the list and its addresses', async () => {
	const id = await newList();
	await A.CreateReceiverDetail({ ReceiverId: id, Emails: ['x@example.com', 'y@example.com'] });
	assert.equal(pg.psql(`SELECT count(*) FROM receiver_details WHERE receiver_id = ${id}`), '2');
	const r = await A.DeleteReceiver({ ReceiverId: id });
	assert.equal(typeof r.RequestId, 'string');
	assert.equal(await findList(A, id), undefined);
	assert.equal(pg.psql(`SELECT count(*) FROM receiver_details WHERE receiver_id = ${id}`), '0');
	await expectCode(A.ListReceiverDetails({ ReceiverId: id, Offset: 0, Limit: 10 }), 'OperationDenied.ReceiverNotExist');
	await expectCode(A.CreateReceiverDetail({ ReceiverId: id, Emails: ['x@example.com'] }), 'OperationDenied.ReceiverNotExist');
	await expectCode(A.DeleteReceiver({ ReceiverId: id }), 'OperationDenied.ReceiverNotExist');
	await expectCode(A.DeleteReceiver({}), 'MissingParameter.ReceiverIdNecessary');
	await expectCode(A.DeleteReceiver({ ReceiverId: 'x' }), 'InvalidParameter');
});

test('20,000 addresses with data in one call', async (t) => {
	const id = await newList();
	const Datas = Array.from({ length: 20000 }, (_, i) => ({
		Email: `recipient.${i}@bulk${i % 7}.example.com`,
		TemplateData: JSON.stringify({ name: `Recipient ${i}`, code: `C-${i}`, city: i % 2 ? 'Zürich' : '上海' }),
	}));
	const t0 = Date.now();
	const r = await A.CreateReceiverDetailWithData({ ReceiverId: id, Datas });
	const ms = Date.now() - t0;
	t.diagnostic(`20,000-row CreateReceiverDetailWithData: ${ms} ms (${Math.round(20000 / (ms / 1000))} rows/s end to end)`);
	assert.deepEqual([r.TotalCount, r.ValidCount, r.RepeatCount, r.TooLongCount, r.EmptyEmailCount], [20000, 20000, 0, 0, 0]);
	const d = await findList(A, id);
	assert.deepEqual([d.ReceiversStatus, d.Count], [3, 20000]);
	const last = await A.ListReceiverDetails({ ReceiverId: id, Offset: 19998, Limit: 100 });
	assert.equal(last.TotalCount, 20000);
	assert.deepEqual(last.Data.map((x) => [x.Email, x.TemplateData]), Datas.slice(19998).map((x) => [x.Email, x.TemplateData]));
	assert.ok(last.Data[1].EmailId > last.Data[0].EmailId);

	/* the same rows again: all repeats (ON CONFLICT DO NOTHING) */
	const t1 = Date.now();
	const again = await A.CreateReceiverDetailWithData({ ReceiverId: id, Datas });
	t.diagnostic(`the same 20,000 rows again (all repeats): ${Date.now() - t1} ms`);
	assert.deepEqual([again.ValidCount, again.RepeatCount], [0, 20000]);

	/* plain addresses, 20,000 with in-call duplicates */
	const plain = await newList();
	const Emails = Array.from({ length: 20000 }, (_, i) => `Plain${i % 19000}@example.com`);
	const t2 = Date.now();
	const p = await A.CreateReceiverDetail({ ReceiverId: plain, Emails });
	t.diagnostic(`20,000-address CreateReceiverDetail (1,000 duplicates): ${Date.now() - t2} ms`);
	assert.deepEqual([p.ValidCount, p.RepeatCount], [19000, 1000]);
});
