'use strict';
/*
 * Checks the test harness itself (lib/stack.js, scripts/pg.sh, smtp-sink): no sesd needed.
 */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { startPg, startSink } = require('./lib/stack');

test('startPg: database sesd, psql, outage and restart, stop removes the cluster', async () => {
	const pg = await startPg();
	assert.equal(pg.psql("SELECT datname FROM pg_database WHERE datname = 'sesd'"), 'sesd');
	assert.equal(pg.psql('SHOW fsync'), 'off');
	assert.match(pg.conninfo, /^host=\/\S+ port=\d+ dbname=sesd user=postgres$/);
	pg.psql('CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)');
	await pg.stopOnly();
	assert.equal(pg.running(), false);
	assert.throws(() => pg.psql('SELECT 1'));
	await pg.startAgain();
	assert.equal(pg.psql('SELECT sum(x) FROM t'), '3');
	await pg.kill();
	assert.equal(pg.running(), false);
	await pg.restart();
	assert.equal(await pg.psqlAsync('SELECT count(*) FROM t'), '2');
	await pg.stop();
	assert.equal(fs.existsSync(pg.dir), false);
});

test('startSink: keeps every message as a file', async () => {
	const sink = await startSink();
	const r = spawnSync('smtp-source', ['-4', '-M', 'localhost', '-f', 'from@example.org', '-t', 'to@example.com',
		'-r', '2', '-m', '3', '-l', '100', `127.0.0.1:${sink.port}`], { encoding: 'utf8', timeout: 30000 });
	assert.equal(r.status, 0, r.stdout + r.stderr);
	const msgs = await sink.waitForMessages(3, 10000);
	assert.equal(msgs.length, 3);
	for (const m of msgs) {
		assert.equal(m.mailFrom, 'from@example.org');
		assert.equal(m.rcpts.length, 2);
		assert.ok(m.rcpts.every((a) => a.endsWith('to@example.com')), m.rcpts.join(','));
		assert.match(m.message, /^From: <from@example.org>/m);
	}
	const dir = sink.dir;
	await sink.stop();
	assert.equal(fs.existsSync(dir), false);
});
