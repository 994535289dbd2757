'use strict';
/*
 * `make run` (scripts/dev-run.sh under make, as the Makefile runs it) in a scratch copy of the
 * scripts, with its own var/ and free ports: once it is ready (var/dev.env written), a stop signal
 * must stop sesd, smtp-sink and PostgreSQL. A SIGTERM to the whole process group (a terminal
 * closing, `kill -- -PGID`, a service manager) reaches dev-run.sh twice, once directly and
 * once passed on by make; the second one used to cut the cleanup short and leave PostgreSQL
 * running.
 */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { REPO, SESD_BIN, freePort, waitFor } = require('./lib/stack');

function alive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

async function devRun(signal, target) {
	const dir = fs.mkdtempSync('/tmp/sesd-devrun-');
	fs.mkdirSync(path.join(dir, 'scripts'));
	for (const f of ['dev-run.sh', 'pg.sh'])
		fs.copyFileSync(path.join(REPO, 'scripts', f), path.join(dir, 'scripts', f));
	fs.chmodSync(path.join(dir, 'scripts', 'dev-run.sh'), 0o755);
	fs.chmodSync(path.join(dir, 'scripts', 'pg.sh'), 0o755);
	/* the recipe of the Makefile's run target, after its deps and build steps */
	fs.writeFileSync(path.join(dir, 'Makefile'), 'run:\n\texec scripts/dev-run.sh\n');
	const outPath = path.join(dir, 'out.log');
	const out = fs.openSync(outPath, 'a');
	const env = { ...process.env, SESD_BIN, SESD_DEV_API_PORT: String(await freePort()),
		SESD_DEV_WEB_PORT: String(await freePort()), SESD_DEV_SMTP_PORT: String(await freePort()),
		SESD_DEV_PG_PORT: String(await freePort()) };
	const make = spawn('make', ['--no-print-directory', 'run'], { cwd: dir, env, detached: true,
		stdio: ['ignore', out, out] });
	fs.closeSync(out);
	const exited = new Promise((resolve) => make.on('exit', (code, sig) => resolve({ code, sig })));
	const log = () => fs.readFileSync(outPath, 'utf8');
	const pids = {};
	const pgDir = path.join(dir, 'var', 'pg');
	try {
		/* dev.env is written before the summary that ends with this line */
		await waitFor('make run to be ready', () => log().includes('Ctrl-C stops everything.'), 90000, log);
		assert.ok(fs.existsSync(path.join(dir, 'var', 'dev.env')));
		pids.sesd = Number(/sesd is running \(pid (\d+)\)/.exec(log())[1]);
		pids.sink = Number(/smtp-sink on \S+ \(pid (\d+)\)/.exec(log())[1]);
		pids.postgres = Number(fs.readFileSync(path.join(fs.realpathSync(pgDir), 'data', 'postmaster.pid'), 'utf8')
			.split('\n')[0]);
		for (const [what, pid] of Object.entries(pids))
			assert.ok(alive(pid), `${what} (pid ${pid}) is not running\n${log()}`);

		process.kill(target === 'group' ? -make.pid : make.pid, signal);
		await exited;
		await waitFor('sesd, smtp-sink and PostgreSQL to stop', () => Object.values(pids).every((pid) => !alive(pid)),
			60000, () => `still running: ${JSON.stringify(Object.entries(pids).filter(([, p]) => alive(p)))}\n${log()}`);
		assert.match(log(), /dev-run: stopping PostgreSQL/);
	} finally {
		if (make.exitCode === null && make.signalCode === null)
			process.kill(-make.pid, 'SIGKILL');
		for (const pid of [pids.sesd, pids.sink])
			if (pid && alive(pid))
				process.kill(pid, 'SIGKILL');
		/* stops a cluster left running, and removes it (also under /var/tmp) */
		spawnSync(path.join(REPO, 'scripts', 'pg.sh'), ['destroy', pgDir]);
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

test('make run: SIGTERM to its whole process group stops sesd, smtp-sink and PostgreSQL', async () => {
	await devRun('SIGTERM', 'group');
});

test('make run: Ctrl-C (SIGINT to the group) stops everything too', async () => {
	await devRun('SIGINT', 'group');
});

test('make run: SIGTERM to make alone stops everything too', async () => {
	await devRun('SIGTERM', 'make');
});
