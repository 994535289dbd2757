'use strict';
/*
 * stack.js: real processes for sesd's integration tests (node --test).
 *
 *   const { startPg, startSink, startSesd, sdkClient, expectCode } = require('./lib/stack');
 *   const pg = await startPg();
 *   const sesd = await startSesd({ pg, conf: { api: { rate_limit: 0 } } });
 *   const client = sdkClient(sesd);               // account A; sdkClient(sesd, 1) = account B
 *   const r = await client.ListEmailTemplates({ Limit: 10, Offset: 0 });
 *   await expectCode(client.GetEmailTemplate({ TemplateID: 9 }), 'InvalidParameterValue...');
 *
 * Tests stop what they start in their own after() hooks (every stop() is idempotent; stopAll()
 * stops everything still registered). Whatever is left - a forgotten stop, a failing hook,
 * SIGINT/SIGTERM - is stopped by the process exit/signal handlers, by pid (PostgreSQL through
 * pg_ctl and its postmaster.pid, sesd by its process group), with sesd's log still checked.
 * A run killed outright (SIGKILL) is cleaned up by the next run (reapStale()).
 *
 * Environment: SESD_BIN (the sesd binary; ctest sets it, default <repo>/build/daemon/sesd),
 * SESD_SOURCE_DIR (repo root; default ../.. from here), SESD_KEEP=1 (keep temp dirs),
 * PGBIN (PostgreSQL server binaries, default /usr/lib/postgresql/15/bin).
 */
const assert = require('node:assert/strict');
const { spawn, spawnSync, execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO = process.env.SESD_SOURCE_DIR ? path.resolve(process.env.SESD_SOURCE_DIR)
	: path.resolve(__dirname, '..', '..', '..');
const SESD_BIN = process.env.SESD_BIN || path.join(REPO, 'build', 'daemon', 'sesd');
const PG_SH = path.join(REPO, 'scripts', 'pg.sh');
const PGBIN = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
const PSQL = fs.existsSync(path.join(PGBIN, 'psql')) ? path.join(PGBIN, 'psql') : 'psql';
const SMTP_SINK = fs.existsSync('/usr/sbin/smtp-sink') ? '/usr/sbin/smtp-sink' : 'smtp-sink';
const KEEP = process.env.SESD_KEEP === '1';

/* log lines that fail a test when sesd stops */
/* sesd's own fatal lines ("FATAL [role] ..."), not PostgreSQL's relayed FATAL texts */
const BAD_LOG = [/^(\d\d:\d\d:\d\d )?FATAL \[/m, /assertion failed/, /AddressSanitizer/, /LeakSanitizer/, /runtime error/];

/* ---------- cleanup registry ---------- */

const live = []; /* { name, stopAsync(), stopSync() } in start order */

function register(entry) {
	live.push(entry);
	return entry;
}

function unregister(entry) {
	const i = live.indexOf(entry);
	if (i >= 0)
		live.splice(i, 1);
}

/* Stops everything still running, newest first; throws one error listing every failure. */
async function stopAll() {
	const errors = [];
	while (live.length) {
		const e = live.pop();
		try {
			await e.stopAsync();
		} catch (err) {
			errors.push(`${e.name}: ${err && err.message ? err.message : err}`);
		}
	}
	if (errors.length)
		throw new Error(errors.join('\n\n'));
}

/* Synchronous version for the exit path; a problem found (a bad sesd log line) is printed
 * and makes the test file fail through process.exitCode. */
function stopAllSync() {
	while (live.length) {
		const e = live.pop();
		try {
			e.stopSync();
		} catch (err) {
			process.stderr.write(`stack.js: ${e.name} left running by the tests: ${err && err.message ? err.message : err}\n`);
			process.exitCode = 1;
		}
	}
}

/*
 * Whatever a test file leaves running is stopped when its process exits: the child processes
 * are unref()ed, so they do not keep node alive once the tests are done, and the exit handler
 * stops them (sesd with SIGTERM and the same log check as stop()). There is deliberately no
 * root-level after() hook here: it would run before the test file's own after() hooks and
 * pull PostgreSQL away from under them.
 */
reapStale();
process.on('exit', stopAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
	process.once(sig, () => {
		stopAllSync();
		process.exit(128 + os.constants.signals[sig]);
	});
}

/* ---------- small helpers ---------- */

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* blocking sleep, for the exit path only */
function sleepSync(ms) {
	Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function randomAlnum(n) {
	const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	const bytes = crypto.randomBytes(n * 2);
	let s = '';
	for (let i = 0; s.length < n; i++) {
		if (i >= bytes.length)
			return s + randomAlnum(n - s.length);
		if (bytes[i] < 248) /* 248 = 4 * 62: no modulo bias */
			s += abc[bytes[i] % 62];
	}
	return s;
}

function rmrf(p) {
	if (!KEEP)
		fs.rmSync(p, { recursive: true, force: true });
}

function tail(text, lines = 40) {
	return text.split('\n').slice(-lines - 1).join('\n');
}

function readIf(p) {
	try {
		return fs.readFileSync(p, 'utf8');
	} catch (e) {
		return '';
	}
}

function run(cmd, args, opts = {}) {
	return new Promise((resolve, reject) => {
		execFile(cmd, args, { maxBuffer: 64 << 20, ...opts }, (err, stdout, stderr) => {
			if (err) {
				err.message = `${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`;
				err.stdout = stdout;
				err.stderr = stderr;
				reject(err);
			} else {
				resolve({ stdout, stderr });
			}
		});
	});
}

function runSync(cmd, args, opts = {}) {
	const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
	if (r.error)
		throw r.error;
	if (r.status !== 0)
		throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
	return r.stdout;
}

/* Live (non-zombie) pids of process group pgid: sesd and the workers it forked. sesd is
 * started as the leader of its own group, so this finds workers even after sesd died. */
function groupMembers(pgid) {
	const out = [];
	for (const d of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(d))
			continue;
		try {
			const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
			const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
			if (f[0] !== 'Z' && f[0] !== 'X' && Number(f[2]) === pgid)
				out.push(Number(d));
		} catch (e) {
			/* gone meanwhile */
		}
	}
	return out;
}

function killGroup(pgid, sig) {
	if (!groupMembers(pgid).length)
		return;
	try {
		process.kill(-pgid, sig);
	} catch (e) {
		/* already gone */
	}
}

/* start time of pid (clock ticks since boot), or null: with the pid it names one process */
function procStart(pid) {
	try {
		const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
		return f[0] === 'Z' || f[0] === 'X' ? null : f[19];
	} catch (e) {
		return null;
	}
}

/* "pid start" of a process, written into a temp dir so a later run can tell whether the
 * process that made the dir (or the server in it) is still the same live process */
function pidStamp(pid) {
	return `${pid} ${procStart(pid)}\n`;
}

function stampAlive(file) {
	const m = /^(\d+) (\d+)/.exec(readIf(file));
	return m ? procStart(Number(m[1])) === m[2] : false;
}

function stampPid(file) {
	const m = /^(\d+) (\d+)/.exec(readIf(file));
	return m && procStart(Number(m[1])) === m[2] ? Number(m[1]) : null;
}

/*
 * Test runs that were killed (SIGKILL, a timeout) cannot clean up after themselves. Each temp
 * dir made here holds "owner" (the test process) and, for servers, the server's pid; a dir
 * whose owner is gone and that is not marked "keep" is cleaned here: PostgreSQL through
 * pg.sh (pg_ctl, postmaster.pid), sesd's process group and smtp-sink by their recorded pid.
 */
function reapStale() {
	let names;
	try {
		names = fs.readdirSync('/tmp');
	} catch (e) {
		return;
	}
	for (const n of names) {
		const m = /^sesd-(pg|it|sink)-[A-Za-z0-9]{6}$/.exec(n);
		if (!m)
			continue;
		const dir = path.join('/tmp', n);
		const owner = path.join(dir, 'owner');
		if (!fs.existsSync(owner) || stampAlive(owner) || fs.existsSync(path.join(dir, 'keep')))
			continue;
		try {
			if (m[1] === 'pg') {
				spawnSync(PG_SH, ['destroy', dir]);
			} else if (m[1] === 'it') {
				const pid = stampPid(path.join(dir, 'sesd.pid'));
				if (pid)
					killGroup(pid, 'SIGKILL');
			} else {
				const pid = stampPid(path.join(dir, 'sink.pid'));
				if (pid)
					process.kill(pid, 'SIGKILL');
			}
			fs.rmSync(dir, { recursive: true, force: true });
		} catch (e) {
			/* best effort */
		}
	}
}

function tmpDir(prefix) {
	const dir = fs.mkdtempSync(path.join('/tmp', prefix));
	fs.writeFileSync(path.join(dir, 'owner'), pidStamp(process.pid));
	if (KEEP)
		fs.writeFileSync(path.join(dir, 'keep'), 'SESD_KEEP=1\n');
	return dir;
}

/* A free 127.0.0.1 TCP port: bind port 0, close, then bind it once more to be sure nobody
 * (not even an SO_REUSEPORT listener such as smtp-sink) holds it. */
async function freePort() {
	for (let attempt = 0; attempt < 50; attempt++) {
		const port = await new Promise((resolve, reject) => {
			const s = net.createServer();
			s.on('error', reject);
			s.listen(0, '127.0.0.1', () => {
				const p = s.address().port;
				s.close(() => resolve(p));
			});
		});
		const ok = await new Promise((resolve) => {
			const s = net.createServer();
			s.on('error', () => resolve(false));
			s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
		});
		if (ok && !listeningOn(port))
			return port;
	}
	throw new Error('no free TCP port found');
}

/* Is anything listening on TCP port (any address)? Uses ss, which also sees SO_REUSEPORT
 * sockets that a bind() test might share. */
function listeningOn(port) {
	const r = spawnSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
	if (r.status !== 0)
		return false;
	return r.stdout.trim().split('\n').filter(Boolean).length;
}

function canConnect(port, host = '127.0.0.1') {
	return new Promise((resolve) => {
		const s = net.connect({ port, host });
		s.setTimeout(1000);
		s.once('connect', () => {
			s.destroy();
			resolve(true);
		});
		s.once('timeout', () => {
			s.destroy();
			resolve(false);
		});
		s.once('error', () => resolve(false));
	});
}

/*
 * Polls fn (sync or async) every 200 ms until it returns something truthy, and returns that;
 * after ms, fails naming what it waited for and detail() (e.g. a log tail).
 */
async function waitFor(what, fn, ms = 30000, detail = () => '') {
	const deadline = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > deadline)
			throw new Error(`timed out after ${ms} ms waiting for ${what}\n${detail()}`);
		await sleep(200);
	}
}

/* Waits until port accepts connections; fails early when isDead() says the server died. */
async function waitForPort(port, { timeoutMs = 15000, isDead = () => false, what = 'server', logTail = () => '' } = {}) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (isDead())
			throw new Error(`${what} exited before listening on 127.0.0.1:${port}\n--- log tail ---\n${logTail()}`);
		if (await canConnect(port))
			return;
		await sleep(50);
	}
	throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms\n--- log tail ---\n${logTail()}`);
}

/* A child process with a log file; resolves exited with { code, signal }. */
function spawnLogged(cmd, args, { logPath, cwd, env, detached = false }) {
	const fd = fs.openSync(logPath, 'a');
	const child = spawn(cmd, args, { cwd, env, detached, stdio: ['ignore', fd, fd] });
	fs.closeSync(fd);
	child.unref(); /* see stopAllSync() */
	const state = { child, exit: null };
	state.exited = new Promise((resolve) => {
		child.once('exit', (code, signal) => {
			state.exit = { code, signal };
			resolve(state.exit);
		});
		child.once('error', (err) => {
			state.exit = { code: null, signal: null, error: err };
			resolve(state.exit);
		});
	});
	return state;
}

async function waitExit(state, ms) {
	if (state.exit)
		return state.exit;
	let timer;
	const t = await Promise.race([state.exited,
		new Promise((r) => { timer = setTimeout(() => r(null), ms); })]);
	clearTimeout(timer);
	return t;
}

/* ---------- PostgreSQL ---------- */

function parseExports(line) {
	const env = {};
	for (const m of line.matchAll(/(\w+)=(\S+)/g))
		env[m[1]] = m[2];
	return env;
}

/*
 * startPg({ durable }) -> a private cluster in a fresh /tmp dir, with database "sesd".
 *   { dir, host, port, conninfo, psql(sql, db='sesd') (sync, psql -Atc, stdout without the
 *     final newline), psqlAsync(sql, db), stop() (stop and delete), stopOnly() (fast
 *     shutdown, keep data), kill() (immediate shutdown, crash-like), startAgain(),
 *     restart() (stopOnly + startAgain), running() }
 */
async function startPg({ durable = false } = {}) {
	const dir = tmpDir('sesd-pg-');
	const startArgs = ['start', ...(durable ? ['--durable'] : []), dir];
	let env;
	try {
		env = parseExports((await run(PG_SH, startArgs)).stdout);
	} catch (e) {
		spawnSync(PG_SH, ['destroy', dir]);
		rmrf(dir);
		throw e;
	}
	const host = env.PGHOST;
	const port = Number(env.PGPORT);
	const psqlArgs = (sql, db) => ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port),
		'-U', 'postgres', '-d', db, '-c', sql];
	const pg = {
		dir,
		host,
		port,
		conninfo: `host=${host} port=${port} dbname=sesd user=postgres`,
		psql(sql, db = 'sesd') {
			return runSync(PSQL, psqlArgs(sql, db)).replace(/\n$/, '');
		},
		async psqlAsync(sql, db = 'sesd') {
			return (await run(PSQL, psqlArgs(sql, db))).stdout.replace(/\n$/, '');
		},
		running() {
			return spawnSync(PG_SH, ['status', dir]).status === 0;
		},
		async stopOnly() {
			await run(PG_SH, ['stop', dir]);
		},
		async kill() {
			await run(PG_SH, ['kill', dir]);
		},
		async startAgain() {
			await run(PG_SH, startArgs);
		},
		async restart() {
			await pg.stopOnly();
			await pg.startAgain();
		},
		async stop() {
			unregister(entry);
			await run(PG_SH, ['stop', dir]).catch(() => {});
			if (KEEP)
				return;
			await run(PG_SH, ['destroy', dir]);
			rmrf(dir);
		},
	};
	const entry = register({
		name: `postgres ${dir}`,
		stopAsync: () => pg.stop(),
		stopSync: () => {
			spawnSync(PG_SH, [KEEP ? 'kill' : 'destroy', dir]);
		},
	});
	pg.psql('CREATE DATABASE sesd', 'postgres');
	return pg;
}

/* ---------- SMTP sink ---------- */

let nobodyIds;
function nobody() {
	if (!nobodyIds) {
		nobodyIds = {
			uid: Number(runSync('id', ['-u', 'nobody']).trim()),
			gid: Number(runSync('id', ['-g', 'nobody']).trim()),
		};
	}
	return nobodyIds;
}

/* Parses one smtp-sink -d dump file. */
function parseDump(file) {
	const raw = fs.readFileSync(file, 'utf8');
	const rcpts = [];
	let mailFrom = null;
	const lines = raw.split('\n');
	let i = 0;
	for (; i < lines.length; i++) {
		const l = lines[i];
		let m;
		if ((m = /^X-Rcpt-Args: <([^>]*)>/.exec(l)))
			rcpts.push(m[1]);
		else if ((m = /^X-Mail-Args: <([^>]*)>/.exec(l)))
			mailFrom = m[1];
		else if (/^Received: /.test(l))
			break;
		else if (!/^X-[\w-]+: /.test(l))
			break;
	}
	/* the sink's own Received: header is 3 lines; the message follows */
	let j = i;
	if (/^Received: from /.test(lines[j] || '')) {
		j++;
		while (j < lines.length && /^[ \t]/.test(lines[j]))
			j++;
	}
	const message = lines.slice(j).join('\n');
	return { file, mailFrom, rcpts, message, raw };
}

function listFiles(dir) {
	const out = [];
	const walk = (d) => {
		let ents;
		try {
			ents = fs.readdirSync(d, { withFileTypes: true });
		} catch (e) {
			return;
		}
		for (const e of ents) {
			const p = path.join(d, e.name);
			if (e.isDirectory())
				walk(p);
			else if (e.isFile())
				out.push(p);
		}
	};
	walk(dir);
	return out.sort();
}

/*
 * startSink({ dumpDir, args, port }) -> postfix smtp-sink on a free 127.0.0.1 port (or on
 * port, which must have no listener: smtp-sink uses SO_REUSEPORT), one file per mail
 * transaction in dumpDir (default a fresh /tmp dir). args: extra smtp-sink options, e.g.
 * ['-r', 'RCPT'] (4xx every RCPT) or ['-f', 'RCPT'] (5xx).
 *   { host, port, dir, pid, log(), files(), messages() (parsed dumps), copies() (envelope
 *     recipient -> messages received for it), waitForMessages(n, ms), stop() }
 */
async function startSink({ dumpDir, args = [], port: wantPort } = {}) {
	if (wantPort && listeningOn(wantPort))
		throw new Error(`startSink: port ${wantPort} already has a listener`);
	const base = tmpDir('sesd-sink-');
	const dir = dumpDir || path.join(base, 'mail');
	fs.mkdirSync(dir, { recursive: true });
	const { uid, gid } = nobody();
	fs.chmodSync(base, 0o755);
	fs.chownSync(dir, uid, gid);
	const port = wantPort || await freePort();
	const logPath = path.join(base, 'smtp-sink.log');
	const p = spawnLogged(SMTP_SINK, ['-u', 'nobody', '-4', '-c', '-d', path.join(dir, '%Y%m%d/%H%M%S.'), ...args,
		`127.0.0.1:${port}`, '256'], { logPath, cwd: base, env: process.env });
	const pid = p.child.pid;
	fs.writeFileSync(path.join(base, 'sink.pid'), pidStamp(pid));
	const sink = {
		host: '127.0.0.1',
		port,
		dir,
		pid,
		logPath,
		log: () => readIf(logPath),
		files: () => listFiles(dir),
		messages: () => listFiles(dir).map(parseDump),
		copies() {
			const count = {};
			for (const m of sink.messages())
				for (const rc of m.rcpts)
					count[rc] = (count[rc] || 0) + 1;
			return count;
		},
		async waitForMessages(n, timeoutMs = 30000) {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const files = listFiles(dir);
				if (files.length >= n) {
					await sleep(200); /* let the sink finish writing the last file */
					return files.map(parseDump);
				}
				if (Date.now() > deadline)
					throw new Error(`smtp-sink got ${files.length} of ${n} messages in ${timeoutMs} ms`);
				await sleep(100);
			}
		},
		async stop() {
			unregister(entry);
			if (!p.exit) {
				p.child.kill('SIGTERM');
				if (!(await waitExit(p, 5000))) {
					p.child.kill('SIGKILL');
					await waitExit(p, 5000);
				}
			}
			if (!dumpDir)
				rmrf(base);
		},
	};
	const entry = register({
		name: `smtp-sink pid ${pid}`,
		stopAsync: () => sink.stop(),
		stopSync: () => {
			if (!p.exit)
				p.child.kill('SIGKILL');
			if (!dumpDir)
				rmrf(base);
		},
	});
	await waitForPort(port, { timeoutMs: 10000, isDead: () => !!p.exit, what: 'smtp-sink', logTail: () => tail(sink.log()) });
	const n = listeningOn(port);
	if (n !== 1) {
		await sink.stop();
		throw new Error(`port ${port} has ${n} listeners after starting smtp-sink (SO_REUSEPORT clash)`);
	}
	return sink;
}

/*
 * startFaultSink({ port }) -> tests/tools/test_sink.py (Debian's /usr/bin/python3, aiosmtpd)
 * on a free 127.0.0.1 port (or port, which must be free): per recipient local part, soft* ->
 * 451, hard* -> 550 5.1.1, drop* -> 421 and close, anything else 250; every accepted
 * recipient is a line of its --log.
 *   { host, port, pid, logPath, accepted() (recipients accepted, in order, repeats kept),
 *     out() (its stdout/stderr), stop() (SIGTERM, then SIGKILL; waits until the port is free) }
 */
async function startFaultSink({ port: wantPort } = {}) {
	if (wantPort && listeningOn(wantPort))
		throw new Error(`startFaultSink: port ${wantPort} already has a listener`);
	const base = tmpDir('sesd-sink-');
	const port = wantPort || await freePort();
	const logPath = path.join(base, 'accepted.log');
	const outPath = path.join(base, 'test_sink.out');
	fs.writeFileSync(logPath, '');
	const p = spawnLogged('/usr/bin/python3', [path.join(REPO, 'tests', 'tools', 'test_sink.py'), String(port),
		'--log', logPath], { logPath: outPath, cwd: base, env: process.env });
	const pid = p.child.pid;
	fs.writeFileSync(path.join(base, 'sink.pid'), pidStamp(pid));
	const sink = {
		host: '127.0.0.1',
		port,
		pid,
		logPath,
		out: () => readIf(outPath),
		accepted: () => readIf(logPath).split('\n').filter(Boolean).map((l) => l.split('\t')[0]),
		async stop() {
			unregister(entry);
			if (!p.exit) {
				p.child.kill('SIGTERM');
				if (!(await waitExit(p, 5000))) {
					p.child.kill('SIGKILL');
					await waitExit(p, 5000);
				}
			}
			for (let i = 0; i < 100 && listeningOn(port); i++)
				await sleep(50);
			rmrf(base);
		},
	};
	const entry = register({
		name: `test_sink.py pid ${pid}`,
		stopAsync: () => sink.stop(),
		stopSync: () => {
			if (!p.exit)
				p.child.kill('SIGKILL');
			rmrf(base);
		},
	});
	await waitForPort(port, { timeoutMs: 15000, isDead: () => !!p.exit, what: 'test_sink.py', logTail: () => tail(sink.out()) });
	return sink;
}

/* ---------- sesd ---------- */

function iniValue(v) {
	if (typeof v === 'number' || typeof v === 'boolean')
		return String(v);
	const s = String(v);
	if (s === '' || /[\s=#;"'\\]/.test(s))
		return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
	return s;
}

/* { section: { key: value } } -> ini text; a null/undefined value leaves the key out */
function iniText(conf) {
	let out = '';
	for (const [section, keys] of Object.entries(conf)) {
		const lines = Object.entries(keys || {}).filter(([, v]) => v !== null && v !== undefined);
		if (!lines.length)
			continue;
		out += `[${section}]\n`;
		for (const [k, v] of lines)
			out += `${k} = ${iniValue(v)}\n`;
		out += '\n';
	}
	return out;
}

function mergeConf(a, b) {
	const out = {};
	for (const src of [a, b])
		for (const [section, keys] of Object.entries(src || {}))
			out[section] = { ...(out[section] || {}), ...(keys || {}) };
	return out;
}

function defaultAccounts() {
	return [
		{ secretId: 'AKIDtestA000000000000000000000000001', secretKey: randomAlnum(32), appId: 1000001 },
		{ secretId: 'AKIDtestB000000000000000000000000002', secretKey: randomAlnum(32), appId: 1000002 },
	];
}

function credentialsText(accounts) {
	return accounts.map((a) => `${a.secretId} ${a.secretKey} ${a.appId}\n`).join('');
}

function sesdEnv(extra) {
	const env = { ...process.env, ...extra };
	/* ASan/UBSan reports go to the log, where stop() looks for them */
	if (!env.ASAN_OPTIONS)
		env.ASAN_OPTIONS = 'detect_leaks=1:abort_on_error=0:halt_on_error=1';
	if (!env.UBSAN_OPTIONS)
		env.UBSAN_OPTIONS = 'print_stacktrace=1:halt_on_error=1';
	return env;
}

/*
 * startSesd({ pg, conf, accounts, migrate = true, waitMs = 15000, env, args, webPort,
 *             unsubscribeKey })
 *   Writes a sesd.conf ({ section: { key: value } } merged over the defaults below), a
 *   credentials file (0600) and an unsubscribe key file (0600) in a fresh /tmp dir, runs
 *   `sesd --migrate -c conf` (unless migrate is false), starts `sesd -c conf` with its output
 *   in sesd.log, and waits until the API and web ports accept TCP connections. Defaults:
 *     [sesd] credentials_file = <dir>/credentials   [database] conninfo = pg.conninfo
 *     [api] listen = 127.0.0.1:<free port>          [web] listen = 127.0.0.1:<webPort>
 *     [content] unsubscribe_key_file = <dir>/unsubscribe.key
 *   webPort: the public pages' port (default a free one). unsubscribeKey: the key file's bytes
 *   (a Buffer; default 32 random bytes), or null for no key file (and no key in the conf).
 *   Returns { endpoint, port, webEndpoint, webPort, unsubscribeKey, unsubscribeKeyPath, dir,
 *     confPath, credentialsPath, logPath, accounts, pid, log(),
 *     stop({ timeoutMs }) (SIGTERM, wait, then fail on bad log lines, an exit status other
 *     than 0 / SIGTERM, or workers that outlive sesd), kill(sig = 'SIGKILL') (sends sig to
 *     sesd only; SIGKILL also waits for the exit, and a later stop() then kills leftover
 *     workers quietly and skips the exit-status check), reload() (SIGHUP), group() (live
 *     pids of sesd's process group: sesd and its workers),
 *     waitExit(ms), exited (promise), writeConf(conf) (rewrite the conf, merged over the
 *     current one), writeCredentials(accounts), waitForLog(regex, ms) }
 */
async function startSesd({ pg, conf = {}, accounts, migrate = true, waitMs = 15000, env = {}, args = [],
	webPort, unsubscribeKey = crypto.randomBytes(32) } = {}) {
	if (!fs.existsSync(SESD_BIN))
		throw new Error(`sesd binary not found at ${SESD_BIN}: build it (make build) or set SESD_BIN`);
	const dir = tmpDir('sesd-it-');
	const port = await freePort();
	webPort = webPort || await freePort();
	const confPath = path.join(dir, 'sesd.conf');
	const credentialsPath = path.join(dir, 'credentials');
	const unsubscribeKeyPath = unsubscribeKey ? path.join(dir, 'unsubscribe.key') : null;
	const logPath = path.join(dir, 'sesd.log');
	accounts = accounts || defaultAccounts();
	if (unsubscribeKey)
		fs.writeFileSync(unsubscribeKeyPath, unsubscribeKey, { mode: 0o600 });
	let current = mergeConf({
		sesd: { credentials_file: credentialsPath },
		database: pg ? { conninfo: pg.conninfo } : {},
		api: { listen: `127.0.0.1:${port}` },
		web: { listen: `127.0.0.1:${webPort}` },
		content: unsubscribeKey ? { unsubscribe_key_file: unsubscribeKeyPath } : {},
	}, conf);
	const writeConf = (c) => fs.writeFileSync(confPath, iniText(c));
	const writeCredentials = (accs) => {
		fs.writeFileSync(credentialsPath, credentialsText(accs), { mode: 0o600 });
		fs.chmodSync(credentialsPath, 0o600);
	};
	writeConf(current);
	writeCredentials(accounts);
	const childEnv = sesdEnv(env);

	if (migrate) {
		try {
			await run(SESD_BIN, ['--migrate', '-c', confPath], { cwd: dir, env: childEnv, timeout: 120000 });
		} catch (e) {
			rmrf(dir);
			throw e;
		}
	}

	/* detached: sesd leads its own process group (and session), so its workers can be found
	 * and stopped by group id even after sesd itself died, and a kill(0, sig) inside sesd
	 * cannot reach the test runner */
	const p = spawnLogged(SESD_BIN, [...args, '-c', confPath], { logPath, cwd: dir, env: childEnv, detached: true });
	const pid = p.child.pid;
	fs.writeFileSync(path.join(dir, 'sesd.pid'), pidStamp(pid));
	let stopped = false;
	let killed = false; /* SIGKILLed on purpose: the exit status is not checked */
	const log = () => readIf(logPath);

	const checkLog = (exit, extra = []) => {
		const text = log();
		const problems = [...extra];
		const bad = text.split('\n').filter((l) => BAD_LOG.some((re) => re.test(l)));
		if (bad.length)
			problems.push(`log has ${bad.length} bad line(s):\n  ${bad.slice(0, 10).join('\n  ')}`);
		if (exit && exit.error)
			problems.push(`could not run ${SESD_BIN}: ${exit.error.message}`);
		else if (exit && !(exit.code === 0 || exit.signal === 'SIGTERM'))
			problems.push(`sesd exited with ${exit.code !== null ? 'status ' + exit.code : 'signal ' + exit.signal}`);
		if (problems.length) {
			fs.writeFileSync(path.join(dir, 'keep'), 'stop() failed: kept for inspection\n');
			throw new Error(`sesd (pid ${pid}, kept in ${dir}): ${problems.join('\n')}\n--- log tail ---\n${tail(text)}`);
		}
	};

	const sesd = {
		endpoint: `127.0.0.1:${port}`,
		port,
		webEndpoint: `127.0.0.1:${webPort}`,
		webPort,
		unsubscribeKey: unsubscribeKey || null,
		unsubscribeKeyPath,
		dir,
		confPath,
		credentialsPath,
		logPath,
		accounts,
		pid,
		conf: () => current,
		log,
		get exited() {
			return p.exited;
		},
		get exitStatus() {
			return p.exit;
		},
		waitExit: (ms = 30000) => waitExit(p, ms),
		group: () => groupMembers(pid),
		writeConf(c) {
			current = mergeConf(current, c);
			writeConf(current);
		},
		writeCredentials(accs) {
			sesd.accounts = accs;
			writeCredentials(accs);
		},
		reload() {
			if (!p.exit)
				process.kill(pid, 'SIGHUP');
		},
		async kill(sig = 'SIGKILL') {
			if (p.exit)
				return p.exit;
			if (sig === 'SIGKILL' || sig === 9)
				killed = true;
			process.kill(pid, sig);
			if (sig === 'SIGKILL' || sig === 9) {
				const r = await waitExit(p, 10000);
				if (!r)
					throw new Error(`sesd pid ${pid} did not die on SIGKILL`);
				return r;
			}
			return null;
		},
		async waitForLog(re, timeoutMs = 15000) {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const m = re.exec(log());
				if (m)
					return m;
				if (Date.now() > deadline)
					throw new Error(`sesd log did not match ${re} within ${timeoutMs} ms\n--- log tail ---\n${tail(log())}`);
				if (p.exit)
					throw new Error(`sesd exited before its log matched ${re}\n--- log tail ---\n${tail(log())}`);
				await sleep(50);
			}
		},
		/* SIGTERM, wait for the exit, then check the log, the exit status and the workers */
		async stop({ timeoutMs = 70000 } = {}) {
			if (stopped)
				return p.exit;
			stopped = true;
			unregister(entry);
			const extra = [];
			if (!p.exit) {
				process.kill(pid, 'SIGTERM');
				if (!(await waitExit(p, timeoutMs))) {
					extra.push(`did not exit within ${timeoutMs} ms of SIGTERM: killed`);
					process.kill(pid, 'SIGKILL');
					await waitExit(p, 10000);
				}
			}
			/* workers must go with their parent */
			const deadline = Date.now() + 5000;
			while (groupMembers(pid).length && Date.now() < deadline)
				await sleep(50);
			const left = groupMembers(pid);
			if (left.length) {
				killGroup(pid, 'SIGKILL');
				if (!killed)
					extra.push(`process(es) ${left.join(', ')} of sesd's group outlived sesd: killed`);
			}
			checkLog(killed ? null : p.exit, extra);
			if (!KEEP)
				rmrf(dir);
			return p.exit;
		},
	};
	const entry = register({
		name: `sesd pid ${pid}`,
		stopAsync: () => sesd.stop(),
		stopSync: () => {
			stopped = true;
			if (procStart(pid) !== null) {
				process.kill(pid, 'SIGTERM');
				for (let i = 0; i < 300 && procStart(pid) !== null; i++)
					sleepSync(50);
			}
			for (let i = 0; i < 40 && groupMembers(pid).length; i++)
				sleepSync(50);
			killGroup(pid, 'SIGKILL');
			checkLog(null, []);
			rmrf(dir);
		},
	});

	try {
		await waitForPort(port, { timeoutMs: waitMs, isDead: () => !!p.exit, what: `sesd (${SESD_BIN})`, logTail: () => tail(log()) });
		/* the web listener is bound right after the API one */
		if (/^127\.0\.0\.1:/.test(current.web.listen))
			await waitForPort(Number(current.web.listen.split(':')[1]), { timeoutMs: waitMs, isDead: () => !!p.exit, what: `sesd web (${SESD_BIN})`, logTail: () => tail(log()) });
	} catch (e) {
		stopped = true;
		unregister(entry);
		killGroup(pid, 'SIGKILL');
		await waitExit(p, 5000);
		rmrf(dir);
		throw e;
	}
	return sesd;
}

/* ---------- SDK ---------- */

function requireSdk(name) {
	try {
		return require(name);
	} catch (e) {
		throw new Error(`${name} is not installed: run \`make deps\` (npm ci in tests/integration): ${e.message}`);
	}
}

/*
 * sdkClient(sesd, accountIndex = 0, opts) -> tencentcloud-sdk-nodejs-ses v20201002 Client for
 * that account, talking plain HTTP to sesd.endpoint. opts: { region, credential, httpProfile,
 * profile } override the defaults. sesd may also be an endpoint string (then give
 * opts.credential).
 */
function sdkClient(sesd, accountIndex = 0, opts = {}) {
	const { ses } = requireSdk('tencentcloud-sdk-nodejs-ses');
	const endpoint = typeof sesd === 'string' ? sesd : sesd.endpoint;
	const acc = typeof sesd === 'string' ? null : sesd.accounts[accountIndex];
	const credential = opts.credential || { secretId: acc.secretId, secretKey: acc.secretKey };
	return new ses.v20201002.Client({
		credential,
		region: opts.region !== undefined ? opts.region : 'ap-guangzhou',
		profile: {
			language: 'en-US',
			...(opts.profile || {}),
			httpProfile: { endpoint, protocol: 'http://', reqTimeout: 30, ...(opts.httpProfile || {}) },
		},
	});
}

let SdkException;
function sdkExceptionClass() {
	if (!SdkException) {
		SdkException = requireSdk('tencentcloud-sdk-nodejs-common/tencentcloud/common/exception/tencent_cloud_sdk_exception').default;
	}
	return SdkException;
}

/*
 * expectCode(promise, code): the SDK call must reject with a TencentCloudSDKHttpException
 * whose .code (Response.Error.Code) equals code. Returns the error.
 */
async function expectCode(promise, code) {
	let result;
	try {
		result = await promise;
	} catch (err) {
		assert.ok(err instanceof sdkExceptionClass(),
			`expected a TencentCloudSDKHttpException with code ${code}, got ${err && err.stack}`);
		assert.equal(err.code, code,
			`expected error code ${code}, got ${err.code} (httpCode ${err.httpCode}): ${err.message} [RequestId ${err.requestId}]`);
		return err;
	}
	assert.fail(`expected error code ${code}, but the call succeeded: ${JSON.stringify(result)}`);
}

module.exports = {
	REPO,
	SESD_BIN,
	startPg,
	startSink,
	startFaultSink,
	startSesd,
	sdkClient,
	expectCode,
	freePort,
	waitFor,
	waitForPort,
	randomAlnum,
	iniText,
	parseDump,
	listeningOn,
	stopAll,
	sleep,
};
