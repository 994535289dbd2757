'use strict';
/*
 * Keeps README.md true: runs its SDK snippet (the ```js block after the
 * "readme-snippet" marker) exactly as a user would, with the variables that
 * `make run` writes to var/dev.env, and checks what it printed.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { startPg, startSesd, REPO } = require('./lib/stack');

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

function snippet() {
	const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
	const at = readme.indexOf('readme-snippet');
	assert.ok(at >= 0, 'README.md has no readme-snippet marker');
	const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
	assert.ok(m, 'no js block after the marker');
	return m[1];
}

test('the README snippet runs against sesd and ends with a complete list', () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesd-readme-'));
	try {
		const file = path.join(dir, 'try.js');
		fs.writeFileSync(file, snippet());
		const out = execFileSync(process.execPath, [file], {
			encoding: 'utf8',
			timeout: 60000,
			env: {
				...process.env,
				NODE_PATH: path.join(REPO, 'tests/integration/node_modules'),
				SESD_ENDPOINT: sesd.endpoint,
				SESD_SECRET_ID: sesd.accounts[0].secretId,
				SESD_SECRET_KEY: sesd.accounts[0].secretKey,
			},
		});
		assert.match(out, /publish these DNS records:/);
		assert.match(out, /_domainkey\./, 'the DKIM record is printed');
		assert.match(out, /uploaded: 2 of 2 template \d+/);
		assert.match(out, /list list \d+ status 3 count 2/);
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});
