'use strict';
/*
 * Smoke test: a real PostgreSQL cluster, `sesd --migrate`, sesd itself, and one call
 * through the official Tencent Cloud SES Node SDK over plain HTTP.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startPg, startSesd, sdkClient } = require('./lib/stack');

let pg;
let sesd;

before(async () => {
	pg = await startPg();
	sesd = await startSesd({ pg });
});

after(async () => {
	if (sesd)
		await sesd.stop();
	if (pg)
		await pg.stop();
});

test('ListEmailTemplates on an empty account', async () => {
	const client = sdkClient(sesd);
	const r = await client.ListEmailTemplates({ Limit: 10, Offset: 0 });
	assert.equal(r.TotalCount, 0);
	assert.ok(Array.isArray(r.TemplatesMetadata), JSON.stringify(r));
	assert.equal(r.TemplatesMetadata.length, 0);
	assert.equal(typeof r.RequestId, 'string');
	assert.ok(r.RequestId.length > 0);
});
