'use strict';
/*
 * Status family (ses-api.md 5.3) through the official Node SDK: ListSendTasks, GetSendEmailStatus
 * and GetStatisticsReport, plus the operators' views of sql/0004_ops_views.sql. No dispatcher
 * runs (workers = 0): delivery outcomes are simulated with psql UPDATEs, as the dispatcher
 * would write them (state, SMTP code and reply, attempts, sent_at).
 *
 * Account A: a batch (TaskType 1) to a list of five: ann (sent, unsubscribes afterwards),
 * bob@gmail.com (bounced 550), carl (custom blacklist: suppressed 1007), dora (deferred 451),
 * fay (unsubscribed before: suppressed 1013); a TaskType 2 and a TaskType 3 task (waiting, no
 * deliveries); a SendEmail from a second domain to dan@gmail.com (queued) and erin (failed),
 * moved to yesterday. Account B: one batch of its own.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { startPg, startSesd, sdkClient, expectCode, REPO } = require('./lib/stack');

let pg;
let sesd;
let A;
let B;

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const ZONE = 'Asia/Shanghai';
const SENDER = 'noreply@mail.example.com';
const FROM_GIVEN = 'Shop <noreply@mail.example.com>';
const OTHER = 'info@other.example.net';
const ids = {};
const day = {};

/* "YYYY-MM-DD HH:MM:SS" in Asia/Shanghai (UTC+8, no DST), secs from now */
function shanghai(secs) {
	const d = new Date(Date.now() + secs * 1000 + 8 * 3600 * 1000);
	return d.toISOString().slice(0, 19).replace('T', ' ');
}

/* the server zone's today + n days, from the database's clock */
function dayOffset(n) {
	return pg.psql(`SELECT to_char((now() AT TIME ZONE '${ZONE}')::date + (${n}), 'YYYY-MM-DD')`);
}

function rows(sql) {
	const out = pg.psql(sql);
	return out === '' ? [] : out.split('\n').map((l) => l.split('|'));
}

before(async () => {
	pg = await startPg();
	sesd = await startSesd({ pg, conf: { api: { rate_limit: 0 }, smtp: { workers: 0 } } });
	A = sdkClient(sesd, 0);
	B = sdkClient(sesd, 1);

	await A.CreateEmailIdentity({ EmailIdentity: 'mail.example.com' });
	await A.CreateEmailAddress({ EmailAddress: SENDER, EmailSenderName: 'Shop' });
	await A.CreateEmailIdentity({ EmailIdentity: 'other.example.net' });
	await A.CreateEmailAddress({ EmailAddress: OTHER });
	await B.CreateEmailIdentity({ EmailIdentity: 'b.example.net' });
	await B.CreateEmailAddress({ EmailAddress: 'news@b.example.net' });

	ids.tpl = (await A.CreateEmailTemplate({ TemplateName: 'hello',
		TemplateContent: { Text: b64('Hello {{name}}') } })).TemplateID;
	ids.tplB = (await B.CreateEmailTemplate({ TemplateName: 'b',
		TemplateContent: { Text: b64('Hi {{name}}') } })).TemplateID;

	ids.list = (await A.CreateReceiver({ ReceiversName: 'status list' })).ReceiverId;
	await A.CreateReceiverDetailWithData({ ReceiverId: ids.list, Datas: [
		{ Email: 'ann@example.org', TemplateData: '{"name":"Ann"}' },
		{ Email: 'bob@gmail.com', TemplateData: '{"name":"Bob"}' },
		{ Email: 'carl@example.org', TemplateData: '{"name":"Carl"}' },
		{ Email: 'dora@example.org', TemplateData: '{"name":"Dora"}' },
		{ Email: 'fay@example.org', TemplateData: '{"name":"Fay"}' },
	] });
	ids.other = (await A.CreateReceiver({ ReceiversName: 'other list' })).ReceiverId;
	await A.CreateReceiverDetail({ ReceiverId: ids.other, Emails: ['x@example.org'] });
	ids.listB = (await B.CreateReceiver({ ReceiversName: 'b list' })).ReceiverId;
	await B.CreateReceiverDetailWithData({ ReceiverId: ids.listB,
		Datas: [{ Email: 'zed@example.org', TemplateData: '{"name":"Zed"}' }] });

	await A.CreateCustomBlacklist({ Emails: ['carl@example.org'] });
	pg.psql(`INSERT INTO suppressions (app_id, reason, domain, email)
		VALUES (1000001, 'unsubscribe', 'mail.example.com', 'fay@example.org')`);

	ids.t1 = (await A.BatchSendEmail({ FromEmailAddress: FROM_GIVEN, ReceiverId: ids.list,
		Subject: 'Hi {{name}}', TaskType: 1,
		Template: { TemplateID: ids.tpl, TemplateData: '{"extra":"1"}' } })).TaskId;
	ids.begin2 = shanghai(2 * 86400);
	ids.t2 = (await A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: ids.list,
		Subject: 'Timed', TaskType: 2, Template: { TemplateID: ids.tpl },
		TimedParam: { BeginTime: ids.begin2 } })).TaskId;
	ids.begin3 = shanghai(3 * 86400);
	ids.t3 = (await A.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: ids.other,
		Subject: 'Cycle', TaskType: 3, Template: { TemplateID: ids.tpl, TemplateData: '{"name":"All"}' },
		CycleParam: { BeginTime: ids.begin3, IntervalTime: 24, TermCycle: 1 } })).TaskId;
	ids.msg = (await A.SendEmail({ FromEmailAddress: OTHER, Destination: ['dan@gmail.com', 'erin@example.org'],
		Subject: 'Single', Template: { TemplateID: ids.tpl, TemplateData: '{"name":"Dan"}' } })).MessageId;
	ids.tB = (await B.BatchSendEmail({ FromEmailAddress: 'news@b.example.net', ReceiverId: ids.listB,
		Subject: 'B', TaskType: 1, Template: { TemplateID: ids.tplB } })).TaskId;

	/* the outcomes the dispatcher would write */
	const upd = (email, task, set) => pg.psql(`UPDATE deliveries SET ${set}, updated_at = now()
		WHERE task_id = ${task} AND email = '${email}'`);
	upd('ann@example.org', ids.t1, "state = 'sent', sent_at = now(), attempts = 1, next_attempt_at = NULL, "
		+ "smtp_code = 250, smtp_reply = '250 2.0.0 Ok: queued as ABC'");
	upd('bob@gmail.com', ids.t1, "state = 'bounced', attempts = 1, next_attempt_at = NULL, "
		+ "smtp_code = 550, smtp_reply = '550 5.1.1 No such user'");
	upd('dora@example.org', ids.t1, "state = 'deferred', attempts = 1, next_attempt_at = now() + interval '5 min', "
		+ "smtp_code = 451, smtp_reply = '451 4.7.1 Try again later'");
	const single = pg.psql(`SELECT task_id FROM deliveries WHERE email = 'dan@gmail.com'`);
	upd('erin@example.org', single, "state = 'failed', attempts = 5, next_attempt_at = NULL, "
		+ "smtp_code = 421, smtp_reply = '421 4.4.2 Connection timed out'");
	/* released yesterday: the run and its deliveries (created_at = the run's released_at) */
	pg.psql(`UPDATE deliveries SET created_at = created_at - interval '1 day',
		updated_at = updated_at - interval '1 day' WHERE task_id = ${single};
		UPDATE task_runs SET released_at = released_at - interval '1 day' WHERE task_id = ${single}`);
	/* ann unsubscribes after her mail went out */
	pg.psql(`INSERT INTO suppressions (app_id, reason, domain, email)
		VALUES (1000001, 'unsubscribe', 'mail.example.com', 'ann@example.org')`);

	day.today = dayOffset(0);
	day.yesterday = dayOffset(-1);
	day.before = dayOffset(-2);
});

after(async () => {
	if (sesd)
		await sesd.stop();
	if (pg)
		await pg.stop();
});

const TASK_KEYS = ['CacheCount', 'CreateTime', 'CycleParam', 'ErrMsg', 'FromEmailAddress', 'NextRunTime',
	'ReceiverId', 'ReceiversName', 'RequestCount', 'SendCount', 'Subject', 'TaskId', 'TaskStatus', 'TaskType',
	'Template', 'TimedParam', 'UpdateTime'];
const TIME_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

test('ListSendTasks: every field with its JSON type, newest first, batch tasks only', async () => {
	const r = await A.ListSendTasks({ Offset: 0, Limit: 10 });
	assert.equal(r.TotalCount, 3);
	assert.deepEqual(r.Data.map((t) => t.TaskId), [ids.t3, ids.t2, ids.t1]);
	for (const t of r.Data)
		assert.deepEqual(Object.keys(t).sort(), TASK_KEYS);

	const [t3, t2, t1] = r.Data;
	assert.equal(t1.FromEmailAddress, FROM_GIVEN);
	assert.equal(t1.ReceiverId, ids.list);
	assert.equal(t1.TaskStatus, 5);
	assert.equal(t1.TaskType, 1);
	/* five recipients: ann sent, bob bounced, dora deferred (cached), carl and fay suppressed */
	assert.equal(t1.RequestCount, 5);
	assert.equal(t1.SendCount, 1);
	assert.equal(t1.CacheCount, 1);
	assert.match(t1.CreateTime, TIME_RE);
	assert.match(t1.UpdateTime, TIME_RE);
	assert.ok(t1.UpdateTime >= t1.CreateTime);
	/* CreateTime is in [sesd] time_zone */
	assert.equal(t1.CreateTime, pg.psql(`SELECT to_char(created_at AT TIME ZONE '${ZONE}',
		'YYYY-MM-DD HH24:MI:SS') FROM send_tasks WHERE id = ${ids.t1}`));
	assert.equal(t1.Subject, 'Hi {{name}}');
	assert.deepEqual(t1.Template, { TemplateID: ids.tpl, TemplateData: '{"extra":"1"}' });
	assert.equal(t1.CycleParam, null);
	assert.equal(t1.TimedParam, null);
	assert.equal(t1.ErrMsg, '');
	assert.equal(t1.ReceiversName, 'status list');
	assert.equal(t1.NextRunTime, null);

	assert.equal(t2.TaskStatus, 1);
	assert.equal(t2.TaskType, 2);
	assert.equal(t2.RequestCount, 0);
	assert.equal(t2.SendCount, 0);
	assert.equal(t2.CacheCount, 0);
	assert.deepEqual(t2.Template, { TemplateID: ids.tpl, TemplateData: '' });
	assert.deepEqual(t2.TimedParam, { BeginTime: ids.begin2 });
	assert.equal(t2.NextRunTime, ids.begin2);
	assert.equal(t2.CycleParam, null);

	assert.equal(t3.TaskType, 3);
	assert.equal(t3.ReceiverId, ids.other);
	assert.equal(t3.ReceiversName, 'other list');
	assert.deepEqual(t3.CycleParam, { BeginTime: ids.begin3, IntervalTime: 24, TermCycle: 1 });
	assert.equal(t3.TimedParam, null);
	assert.deepEqual(t3.Template, { TemplateID: ids.tpl, TemplateData: '{"name":"All"}' });
});

test('ListSendTasks: filters, paging, errors and isolation', async () => {
	const ids_ = (r) => r.Data.map((t) => t.TaskId);
	let r = await A.ListSendTasks({ Offset: 0, Limit: 10, Status: 1 });
	assert.equal(r.TotalCount, 2);
	assert.deepEqual(ids_(r), [ids.t3, ids.t2]);
	r = await A.ListSendTasks({ Offset: 0, Limit: 10, Status: 10 });
	assert.equal(r.TotalCount, 0);
	assert.deepEqual(r.Data, []);
	r = await A.ListSendTasks({ Offset: 0, Limit: 10, TaskType: 3 });
	assert.deepEqual(ids_(r), [ids.t3]);
	r = await A.ListSendTasks({ Offset: 0, Limit: 10, ReceiverId: ids.list });
	assert.deepEqual(ids_(r), [ids.t2, ids.t1]);
	r = await A.ListSendTasks({ Offset: 0, Limit: 10, ReceiverId: ids.list, TaskType: 1, Status: 5 });
	assert.deepEqual(ids_(r), [ids.t1]);
	r = await A.ListSendTasks({ Offset: 1, Limit: 1 });
	assert.equal(r.TotalCount, 3);
	assert.deepEqual(ids_(r), [ids.t2]);
	r = await A.ListSendTasks({ Offset: 3, Limit: 5 });
	assert.equal(r.TotalCount, 3);
	assert.deepEqual(r.Data, []);

	await expectCode(A.ListSendTasks({ Offset: 0, Limit: 0 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListSendTasks({ Offset: 0, Limit: 101 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListSendTasks({ Offset: -1, Limit: 10 }), 'FailedOperation.InvalidLimit');
	await expectCode(A.ListSendTasks({ Offset: 0, Limit: 10, Status: 3 }), 'InvalidParameterValue');
	await expectCode(A.ListSendTasks({ Offset: 0, Limit: 10, TaskType: 4 }), 'InvalidParameterValue');
	await expectCode(A.ListSendTasks({ Offset: 0, Limit: 10, Status: '1' }), 'InvalidParameter');
	await expectCode(A.ListSendTasks({ Offset: 0 }), 'MissingParameter');

	r = await B.ListSendTasks({ Offset: 0, Limit: 100 });
	assert.equal(r.TotalCount, 1);
	assert.deepEqual(ids_(r), [ids.tB]);
	assert.equal(r.Data[0].RequestCount, 1);
	assert.equal(r.Data[0].CacheCount, 1);
	r = await B.ListSendTasks({ Offset: 0, Limit: 100, ReceiverId: ids.list });
	assert.equal(r.TotalCount, 0);
});

const STATUS_KEYS = ['DeliverMessage', 'DeliverStatus', 'DeliverTime', 'FromEmailAddress', 'MessageId',
	'RequestTime', 'SendStatus', 'ToEmailAddress', 'UserClicked', 'UserComplained', 'UserComplainted',
	'UserOpened', 'UserUnsubscribed'];

test('GetSendEmailStatus: one record per recipient with the state mapping', async () => {
	const r = await A.GetSendEmailStatus({ RequestDate: day.today, Offset: 0, Limit: 100 });
	assert.deepEqual(Object.keys(r).sort(), ['EmailStatusList', 'RequestId']);
	const list = r.EmailStatusList;
	assert.deepEqual(list.map((s) => s.ToEmailAddress),
		['ann@example.org', 'bob@gmail.com', 'carl@example.org', 'dora@example.org', 'fay@example.org']);
	const dbIds = rows(`SELECT email, message_id, extract(epoch FROM created_at)::bigint,
		coalesce(extract(epoch FROM sent_at)::bigint, 0) FROM deliveries WHERE task_id = ${ids.t1} ORDER BY id`);
	for (const [i, s] of list.entries()) {
		assert.deepEqual(Object.keys(s).sort(), STATUS_KEYS);
		assert.equal(s.MessageId, dbIds[i][1]);
		assert.ok(!s.MessageId.startsWith('<') && s.MessageId.endsWith('@mail.example.com'));
		assert.equal(s.FromEmailAddress, FROM_GIVEN);
		assert.equal(s.RequestTime, Number(dbIds[i][2]));
		for (const k of ['SendStatus', 'DeliverStatus', 'RequestTime', 'DeliverTime'])
			assert.ok(Number.isInteger(s[k]), k);
		for (const k of ['UserOpened', 'UserClicked', 'UserComplainted', 'UserComplained'])
			assert.equal(s[k], false, k);
	}
	const [ann, bob, carl, dora, fay] = list;
	assert.equal(ann.SendStatus, 0);
	assert.equal(ann.DeliverStatus, 1);
	assert.equal(ann.DeliverMessage, '250 2.0.0 Ok: queued as ABC');
	assert.equal(ann.DeliverTime, Number(dbIds[0][3]));
	assert.ok(ann.DeliverTime > 0);
	assert.equal(ann.UserUnsubscribed, true);

	assert.equal(bob.SendStatus, 0);
	assert.equal(bob.DeliverStatus, 3);
	assert.equal(bob.DeliverMessage, '550 5.1.1 No such user');
	assert.ok(bob.DeliverTime > 0);
	assert.equal(bob.UserUnsubscribed, false);

	assert.equal(carl.SendStatus, 1007);
	assert.equal(carl.DeliverStatus, 2);
	assert.match(carl.DeliverMessage, /blacklist/);
	assert.equal(carl.DeliverTime, 0);
	assert.equal(carl.UserUnsubscribed, false);

	assert.equal(dora.SendStatus, 0);
	assert.equal(dora.DeliverStatus, 8);
	assert.equal(dora.DeliverMessage, '451 4.7.1 Try again later');

	assert.equal(fay.SendStatus, 1013);
	assert.equal(fay.DeliverStatus, 2);
	assert.match(fay.DeliverMessage, /unsubscribed from mail\.example\.com/);
	assert.equal(fay.UserUnsubscribed, true);

	/* yesterday: the SendEmail's two recipients share its MessageId */
	const y = (await A.GetSendEmailStatus({ RequestDate: day.yesterday, Offset: 0, Limit: 100 })).EmailStatusList;
	assert.deepEqual(y.map((s) => [s.ToEmailAddress, s.MessageId, s.FromEmailAddress, s.SendStatus,
		s.DeliverStatus]), [
		['dan@gmail.com', ids.msg, OTHER, 0, 0],
		['erin@example.org', ids.msg, OTHER, 1004, 2],
	]);
	assert.equal(y[0].DeliverMessage, '');
	assert.equal(y[0].DeliverTime, 0);
	assert.match(y[1].DeliverMessage, /5 attempts; last reply: 421 4\.4\.2 Connection timed out$/);
	assert.ok(y[1].DeliverTime > 0);
	assert.deepEqual((await A.GetSendEmailStatus({ RequestDate: day.before, Offset: 0, Limit: 100 }))
		.EmailStatusList, []);
});

test('GetSendEmailStatus: filters, paging, date errors and isolation', async () => {
	const get = async (extra) => (await A.GetSendEmailStatus({ RequestDate: day.today, Offset: 0, Limit: 100,
		...extra })).EmailStatusList.map((s) => s.ToEmailAddress);
	assert.deepEqual(await get({ ToEmailAddress: 'BOB@Gmail.com' }), ['bob@gmail.com']);
	assert.deepEqual(await get({ ToEmailAddress: 'nobody@example.org' }), []);
	assert.deepEqual(await get({ ToEmailAddress: '' }), ['ann@example.org', 'bob@gmail.com', 'carl@example.org',
		'dora@example.org', 'fay@example.org']);
	const annId = pg.psql(`SELECT message_id FROM deliveries WHERE task_id = ${ids.t1}
		AND email = 'ann@example.org'`);
	assert.deepEqual(await get({ MessageId: annId }), ['ann@example.org']);
	assert.deepEqual(await get({ MessageId: `<${annId}>` }), ['ann@example.org']);
	assert.deepEqual(await get({ MessageId: ids.msg }), []); /* yesterday's */
	assert.deepEqual((await A.GetSendEmailStatus({ RequestDate: day.yesterday, Offset: 0, Limit: 100,
		MessageId: `<${ids.msg}>`, ToEmailAddress: 'erin@example.org' })).EmailStatusList
		.map((s) => s.ToEmailAddress), ['erin@example.org']);
	assert.deepEqual(await get({ Offset: 1, Limit: 2 }), ['bob@gmail.com', 'carl@example.org']);
	assert.deepEqual(await get({ Offset: 5, Limit: 2 }), []);

	for (const bad of ['2024-13-01', '2023-02-29', '20240101', '2024-1-01', '', 'yesterday'])
		await expectCode(A.GetSendEmailStatus({ RequestDate: bad, Offset: 0, Limit: 10 }),
			'InvalidParameterValue.WrongDate');
	await expectCode(A.GetSendEmailStatus({ RequestDate: dayOffset(-31), Offset: 0, Limit: 10 }),
		'FailedOperation.NotSupportDate');
	await expectCode(A.GetSendEmailStatus({ RequestDate: dayOffset(1), Offset: 0, Limit: 10 }),
		'FailedOperation.NotSupportDate');
	assert.deepEqual((await A.GetSendEmailStatus({ RequestDate: dayOffset(-30), Offset: 0, Limit: 10 }))
		.EmailStatusList, []);
	await expectCode(A.GetSendEmailStatus({ RequestDate: day.today, Offset: 0, Limit: 0 }),
		'FailedOperation.InvalidLimit');
	await expectCode(A.GetSendEmailStatus({ RequestDate: day.today, Offset: 0, Limit: 101 }),
		'FailedOperation.InvalidLimit');
	await expectCode(A.GetSendEmailStatus({ Offset: 0, Limit: 10 }), 'MissingParameter');

	/* B sees its own record only, and nothing of A's even by id or address */
	const b = (await B.GetSendEmailStatus({ RequestDate: day.today, Offset: 0, Limit: 100 })).EmailStatusList;
	assert.deepEqual(b.map((s) => [s.ToEmailAddress, s.FromEmailAddress]), [['zed@example.org',
		'news@b.example.net']]);
	assert.deepEqual((await B.GetSendEmailStatus({ RequestDate: day.today, Offset: 0, Limit: 100,
		MessageId: annId })).EmailStatusList, []);
	assert.deepEqual((await B.GetSendEmailStatus({ RequestDate: day.yesterday, Offset: 0, Limit: 100 }))
		.EmailStatusList, []);
});

const vol = (SendDate, RequestCount, AcceptedCount, DeliveredCount, BounceCount, UnsubscribeCount) => ({
	SendDate, RequestCount, AcceptedCount, DeliveredCount, OpenedCount: 0, ClickedCount: 0, BounceCount,
	UnsubscribeCount });

test('GetStatisticsReport: one Volume per day (zero days included) and the overall sums', async () => {
	const r = await A.GetStatisticsReport({ StartDate: day.before, EndDate: day.today });
	assert.deepEqual(Object.keys(r).sort(), ['DailyVolumes', 'OverallVolume', 'RequestId']);
	assert.deepEqual(r.DailyVolumes, [
		vol(day.before, 0, 0, 0, 0, 0),
		vol(day.yesterday, 2, 2, 0, 0, 0),
		vol(day.today, 5, 3, 1, 1, 2),
	]);
	assert.deepEqual(r.OverallVolume, vol(day.before, 7, 5, 1, 1, 2));

	let f = await A.GetStatisticsReport({ StartDate: day.yesterday, EndDate: day.today, Domain: 'MAIL.example.com' });
	assert.deepEqual(f.DailyVolumes, [vol(day.yesterday, 0, 0, 0, 0, 0), vol(day.today, 5, 3, 1, 1, 2)]);
	f = await A.GetStatisticsReport({ StartDate: day.yesterday, EndDate: day.today, Domain: 'other.example.net' });
	assert.deepEqual(f.DailyVolumes, [vol(day.yesterday, 2, 2, 0, 0, 0), vol(day.today, 0, 0, 0, 0, 0)]);
	assert.deepEqual(f.OverallVolume, vol(day.yesterday, 2, 2, 0, 0, 0));
	f = await A.GetStatisticsReport({ StartDate: day.yesterday, EndDate: day.today, ReceivingMailboxType: 'gmail.com' });
	assert.deepEqual(f.DailyVolumes, [vol(day.yesterday, 1, 1, 0, 0, 0), vol(day.today, 1, 1, 0, 1, 0)]);
	f = await A.GetStatisticsReport({ StartDate: day.today, EndDate: day.today, Domain: 'mail.example.com',
		ReceivingMailboxType: 'example.org' });
	assert.deepEqual(f.DailyVolumes, [vol(day.today, 4, 2, 1, 0, 2)]);
	f = await A.GetStatisticsReport({ StartDate: day.today, EndDate: day.today, Domain: '', ReceivingMailboxType: '' });
	assert.deepEqual(f.OverallVolume, vol(day.today, 5, 3, 1, 1, 2));

	/* 31 days is the longest range */
	f = await A.GetStatisticsReport({ StartDate: dayOffset(-30), EndDate: day.today });
	assert.equal(f.DailyVolumes.length, 31);
	assert.equal(f.DailyVolumes[30].SendDate, day.today);
	assert.deepEqual(f.OverallVolume, vol(dayOffset(-30), 7, 5, 1, 1, 2));

	/* B counts its own delivery only */
	const b = await B.GetStatisticsReport({ StartDate: day.yesterday, EndDate: day.today });
	assert.deepEqual(b.DailyVolumes, [vol(day.yesterday, 0, 0, 0, 0, 0), vol(day.today, 1, 1, 0, 0, 0)]);
});

test('GetStatisticsReport: date errors', async () => {
	const cases = [
		[{ StartDate: '2024-02-30', EndDate: day.today }, 'InvalidParameterValue.WrongDate'],
		[{ StartDate: day.today, EndDate: '2024/01/01' }, 'InvalidParameterValue.WrongDate'],
		[{ StartDate: '', EndDate: day.today }, 'InvalidParameterValue.WrongDate'],
		[{ StartDate: day.today, EndDate: day.yesterday }, 'InvalidParameterValue'],
		[{ StartDate: dayOffset(-31), EndDate: day.today }, 'InvalidParameterValue'],
		[{ StartDate: day.today }, 'MissingParameter'],
		[{ StartDate: day.today, EndDate: day.today, Domain: 1 }, 'InvalidParameter'],
	];
	for (const [req, code] of cases)
		await expectCode(A.GetStatisticsReport(req), code);
});

test('ops views: task progress, delivery failures, daily volume', () => {
	assert.deepEqual(rows(`SELECT kind, task_type, status, request_count, queued, sending, sent, deferred,
		bounced, failed, suppressed, pending FROM ops_task_progress WHERE task_id = ${ids.t1}`),
	[['batch', '1', '5', '5', '0', '0', '1', '1', '1', '0', '2', '1']]);
	assert.deepEqual(rows(`SELECT kind, request_count, queued, failed, pending FROM ops_task_progress
		WHERE app_id = 1000001 AND kind = 'single'`), [['single', '2', '1', '1', '1']]);
	assert.deepEqual(rows(`SELECT task_id, sent, pending FROM ops_task_progress WHERE app_id = 1000001
		AND task_type = 2`), [[String(ids.t2), '0', '0']]);

	assert.deepEqual(rows(`SELECT email, state, attempts, smtp_code, smtp_reply, next_attempt_at IS NOT NULL
		FROM ops_delivery_failures WHERE app_id = 1000001 ORDER BY email`), [
		['bob@gmail.com', 'bounced', '1', '550', '550 5.1.1 No such user', 'f'],
		['dora@example.org', 'deferred', '1', '451', '451 4.7.1 Try again later', 't'],
		['erin@example.org', 'failed', '5', '421', '421 4.4.2 Connection timed out', 'f'],
	]);
	assert.deepEqual(rows('SELECT count(*) FROM ops_delivery_failures WHERE app_id = 1000002'), [['0']]);

	assert.deepEqual(rows(`SET TimeZone = '${ZONE}'; SELECT app_id, to_char(day, 'YYYY-MM-DD'), sender_domain,
		requested, sent, bounced, failed, suppressed, pending FROM ops_daily_volume ORDER BY app_id, day`), [
		['1000001', day.yesterday, 'other.example.net', '2', '0', '0', '1', '0', '1'],
		['1000001', day.today, 'mail.example.com', '5', '1', '1', '0', '2', '1'],
		['1000002', day.today, 'b.example.net', '1', '0', '0', '0', '0', '1'],
	]);
});

test('README "Operating sesd": its example queries run and find the rows', () => {
	const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
	const at = readme.indexOf('## Operating sesd');
	assert.ok(at >= 0, 'README.md has no "Operating sesd" section');
	const section = readme.slice(at, readme.indexOf('\n## ', at + 1));
	const queries = section.split('\n').filter((l) => l.startsWith('    SELECT')).map((l) => l.trim());
	assert.equal(queries.length, 4);
	for (const q of queries)
		assert.ok(rows(`SET TimeZone = '${ZONE}'; ${q}`).length > 0, q);
	assert.match(section, /\| `failed` \| 1004/);
});
