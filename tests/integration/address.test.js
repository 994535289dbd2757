'use strict';
/*
 * Sender addresses (ses-api.md 5.5): CreateEmailAddress, ListEmailAddress,
 * DeleteEmailAddress and UpdateEmailSmtpPassWord through the official Node SDK,
 * with [limits] senders = 3 and [identity] verify = trust. Covers the list
 * shape, every error code (IllegalEmailAddress, IllegalSenderName,
 * RepeatEmailAddress, DomainNotVerified, ExceedSenderLimit, NoSuchSender,
 * UnsupportedOperation), and that account B neither sees nor changes A's
 * addresses nor registers addresses on A's domain.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startPg, startSesd, sdkClient, expectCode } = require('./lib/stack');

let pg;
let sesd;

before(async () => {
	pg = await startPg();
	sesd = await startSesd({ pg, conf: { api: { rate_limit: 0 }, limits: { senders: 3 } } });
	const a = sdkClient(sesd);
	const b = sdkClient(sesd, 1);
	await a.CreateEmailIdentity({ EmailIdentity: 'mail.example.com' });
	await a.CreateEmailIdentity({ EmailIdentity: 'pending.example.com' });
	await b.CreateEmailIdentity({ EmailIdentity: 'b.example.net' });
	/* as if created under verify = dns and not yet checked */
	pg.psql("UPDATE email_identities SET verified = false WHERE domain = 'pending.example.com'");
});

after(async () => {
	if (sesd)
		await sesd.stop();
	if (pg)
		await pg.stop();
});

test('CreateEmailAddress and ListEmailAddress', async () => {
	const a = sdkClient(sesd);
	const empty = await a.ListEmailAddress({});
	assert.deepEqual(empty.EmailSenders, []);

	const t0 = Math.floor(Date.now() / 1000);
	const r = await a.CreateEmailAddress({ EmailAddress: 'noreply@mail.example.com', EmailSenderName: '腾讯云邮件通知' });
	assert.equal(typeof r.RequestId, 'string');
	assert.deepEqual(Object.keys(r), ['RequestId']);
	/* the domain part matches the identity ignoring case */
	await a.CreateEmailAddress({ EmailAddress: 'Info@MAIL.example.com' });

	const l = await a.ListEmailAddress({});
	assert.equal(l.EmailSenders.length, 2);
	const [x, y] = l.EmailSenders;
	assert.equal(x.EmailAddress, 'noreply@mail.example.com');
	assert.equal(x.EmailSenderName, '腾讯云邮件通知');
	assert.equal(x.SmtpPwdType, 0);
	assert.ok(Number.isInteger(x.CreatedTimestamp), JSON.stringify(x));
	assert.ok(Math.abs(x.CreatedTimestamp - t0) <= 60, `${x.CreatedTimestamp} vs ${t0}`);
	assert.deepEqual(Object.keys(x).sort(), ['CreatedTimestamp', 'EmailAddress', 'EmailSenderName', 'SmtpPwdType']);
	assert.equal(y.EmailAddress, 'Info@MAIL.example.com');
	assert.equal(y.EmailSenderName, '');

	await expectCode(a.ListEmailAddress({ Limit: 10 }), 'UnknownParameter');
});

test('CreateEmailAddress errors', async () => {
	const a = sdkClient(sesd);
	await expectCode(a.CreateEmailAddress({ EmailAddress: 'noreply@mail.example.com' }),
		'InvalidParameterValue.RepeatEmailAddress');
	await expectCode(a.CreateEmailAddress({ EmailAddress: 'NOREPLY@mail.example.COM', EmailSenderName: 'x' }),
		'InvalidParameterValue.RepeatEmailAddress');
	for (const bad of ['', 'noreply', 'noreply@', '@mail.example.com', 'a b@mail.example.com',
		'.a@mail.example.com', 'a..b@mail.example.com', 'a@mail..example.com', 'Name <a@mail.example.com>',
		'"a"@mail.example.com', 'a@mail.example.com\r\nBcc: x@y.z', `${'a'.repeat(65)}@mail.example.com`,
		`a@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.mail.example.com`])
		await expectCode(a.CreateEmailAddress({ EmailAddress: bad }), 'InvalidParameterValue.IllegalEmailAddress');
	for (const name of ['Line\nBreak', 'CR\rhere', 'tab\there', 'nul\u0001', 'del\u007f', 'x'.repeat(65), '名'.repeat(65)])
		await expectCode(a.CreateEmailAddress({ EmailAddress: 'named@mail.example.com', EmailSenderName: name }),
			'InvalidParameterValue.IllegalSenderName');
	/* not a verified identity of this account: unknown, unverified, a subdomain, another account's */
	for (const addr of ['x@unknown.example.com', 'x@pending.example.com', 'x@sub.mail.example.com',
		'x@example.com', 'x@b.example.net'])
		await expectCode(a.CreateEmailAddress({ EmailAddress: addr }), 'OperationDenied.DomainNotVerified');
	await expectCode(a.CreateEmailAddress({ EmailSenderName: 'x' }), 'MissingParameter');
	await expectCode(a.CreateEmailAddress({ EmailAddress: 5 }), 'InvalidParameter');
	await expectCode(a.CreateEmailAddress({ EmailAddress: 'x@mail.example.com', EmailSenderName: 5 }), 'InvalidParameter');
	assert.equal((await a.ListEmailAddress({})).EmailSenders.length, 2, 'no failure added an address');
});

test('the longest name and the limit of [limits] senders (3)', async () => {
	const a = sdkClient(sesd);
	await a.CreateEmailAddress({ EmailAddress: 'named@mail.example.com', EmailSenderName: '名'.repeat(64) });
	await expectCode(a.CreateEmailAddress({ EmailAddress: 'fourth@mail.example.com' }), 'OperationDenied.ExceedSenderLimit');
	/* a repeat is reported as such even when full */
	await expectCode(a.CreateEmailAddress({ EmailAddress: 'named@mail.example.com' }),
		'InvalidParameterValue.RepeatEmailAddress');
	const l = await a.ListEmailAddress({});
	assert.deepEqual(l.EmailSenders.map((s) => s.EmailAddress),
		['noreply@mail.example.com', 'Info@MAIL.example.com', 'named@mail.example.com']);
	assert.equal(l.EmailSenders[2].EmailSenderName, '名'.repeat(64));
	/* B's limit is its own */
	const b = sdkClient(sesd, 1);
	await b.CreateEmailAddress({ EmailAddress: 'noreply@b.example.net', EmailSenderName: 'B' });
});

test('account isolation', async () => {
	const a = sdkClient(sesd);
	const b = sdkClient(sesd, 1);
	const bl = await b.ListEmailAddress({});
	assert.deepEqual(bl.EmailSenders.map((s) => s.EmailAddress), ['noreply@b.example.net']);
	await expectCode(b.DeleteEmailAddress({ EmailAddress: 'noreply@mail.example.com' }), 'InvalidParameterValue.NoSuchSender');
	await expectCode(b.CreateEmailAddress({ EmailAddress: 'other@mail.example.com' }), 'OperationDenied.DomainNotVerified');
	await expectCode(a.DeleteEmailAddress({ EmailAddress: 'noreply@b.example.net' }), 'InvalidParameterValue.NoSuchSender');
	assert.equal((await a.ListEmailAddress({})).EmailSenders.length, 3);
	assert.equal((await b.ListEmailAddress({})).EmailSenders.length, 1);
});

test('DeleteEmailAddress; the domain can go once it has none', async () => {
	const a = sdkClient(sesd);
	await expectCode(a.DeleteEmailIdentity({ EmailIdentity: 'mail.example.com' }),
		'OperationDenied.SenderWithDomainIsNotEmpty');
	const r = await a.DeleteEmailAddress({ EmailAddress: 'INFO@mail.example.com' });
	assert.deepEqual(Object.keys(r), ['RequestId']);
	await expectCode(a.DeleteEmailAddress({ EmailAddress: 'info@mail.example.com' }), 'InvalidParameterValue.NoSuchSender');
	await expectCode(a.DeleteEmailAddress({ EmailAddress: 'not an address' }), 'InvalidParameterValue.NoSuchSender');
	await expectCode(a.DeleteEmailAddress({}), 'MissingParameter');
	assert.deepEqual((await a.ListEmailAddress({})).EmailSenders.map((s) => s.EmailAddress),
		['noreply@mail.example.com', 'named@mail.example.com']);
	/* a slot is free again */
	await a.CreateEmailAddress({ EmailAddress: 'fourth@mail.example.com' });
	for (const addr of ['noreply@mail.example.com', 'named@mail.example.com', 'fourth@mail.example.com'])
		await a.DeleteEmailAddress({ EmailAddress: addr });
	assert.deepEqual((await a.ListEmailAddress({})).EmailSenders, []);
	await a.DeleteEmailIdentity({ EmailIdentity: 'mail.example.com' });
	await expectCode(a.CreateEmailAddress({ EmailAddress: 'noreply@mail.example.com' }), 'OperationDenied.DomainNotVerified');
});

test('UpdateEmailSmtpPassWord is not supported', async () => {
	const a = sdkClient(sesd);
	const err = await expectCode(a.UpdateEmailSmtpPassWord({ EmailAddress: 'noreply@b.example.net', Password: 'Abcdef123456' }),
		'UnsupportedOperation');
	assert.match(err.message, /SMTP/);
	await expectCode(a.UpdateEmailSmtpPassWord({ EmailAddress: 'noreply@b.example.net' }), 'MissingParameter');
});
