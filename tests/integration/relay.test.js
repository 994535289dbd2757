'use strict';
/*
 * daemon/relay.c against real SMTP peers, through tests/tools/relay_send (one process per
 * run, so a libesmtp crash shows as a signal): postfix smtp-sink (startSink) for the fast
 * path and global faults, tests/tools/test_sink.py (aiosmtpd, /usr/bin/python3) for
 * per-recipient faults, STARTTLS with a certificate made here and AUTH. Covers the
 * libesmtp traps of RECIPES.md section 5: TCP_NODELAY on the socket, two STARTTLS sessions
 * in one process, a connection dropped mid-batch, a failed AUTH, connect and greeting
 * timeouts. No timing is asserted except that a timeout ends within a generous bound.
 * Needs no sesd and no database.
 *
 * Environment: SESD_RELAY_SEND (the driver; default <build>/tests/tools/relay_send next to
 * SESD_BIN's build tree, or build/tests/tools/relay_send).
 */
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { REPO, startSink, freePort, waitForPort } = require('./lib/stack');

const PYTHON = '/usr/bin/python3'; /* Debian's, which sees python3-aiosmtpd */
const TEST_SINK = path.join(REPO, 'tests', 'tools', 'test_sink.py');
const DRIVER = process.env.SESD_RELAY_SEND ||
	(process.env.SESD_BIN ? path.join(path.dirname(process.env.SESD_BIN), '..', 'tests', 'tools', 'relay_send')
		: path.join(REPO, 'build', 'tests', 'tools', 'relay_send'));
const SANITIZER = /AddressSanitizer|LeakSanitizer|runtime error|ERROR: /;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sesd-relay-'));
const children = []; /* test peers started here, killed in after() and on exit */

function killAll() {
	while (children.length) {
		const c = children.pop();
		if (c.exitCode === null && c.signalCode === null)
			c.kill('SIGKILL');
	}
}
process.on('exit', () => {
	killAll();
	if (process.env.SESD_KEEP !== '1')
		fs.rmSync(tmp, { recursive: true, force: true });
});
after(killAll);

/* Runs relay_send; resolves with its parsed output (never rejects on a non-zero exit). */
function relaySend(args, { timeoutMs = 120000 } = {}) {
	return new Promise((resolve, reject) => {
		const t0 = Date.now();
		const env = { ...process.env };
		env.ASAN_OPTIONS = env.ASAN_OPTIONS || 'detect_leaks=1:halt_on_error=1';
		env.UBSAN_OPTIONS = env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1';
		const p = spawn(DRIVER, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		p.stdout.on('data', (d) => { stdout += d; });
		p.stderr.on('data', (d) => { stderr += d; });
		const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
		p.on('error', reject);
		p.on('close', (code, signal) => {
			clearTimeout(timer);
			const out = { code, signal, stdout, stderr, ms: Date.now() - t0, results: [], sessions: [], nodelay: null };
			for (const line of stdout.split('\n')) {
				const f = line.split('\t');
				if (f[0] === 'result')
					out.results.push({ rcpt: f[1], code: Number(f[2]), outcome: f[3], stage: f[4], enh: f[5], text: f.slice(6).join('\t') });
				else if (f[0] === 'session')
					out.sessions.push({ n: Number(f[1]), status: f[2], kind: f[3], secs: Number(f[4]), rate: Number(f[5]), reason: f.slice(6).join('\t') });
				else if (f[0] === 'nodelay')
					out.nodelay = { connects: Number(f[1]), set: Number(f[2]) };
			}
			out.by = Object.fromEntries(out.results.map((r) => [r.rcpt, r]));
			resolve(out);
		});
	});
}

/* The driver ran to its end: no signal (a libesmtp crash), no sanitizer report. */
function ran(out, exitCode) {
	const info = `relay_send exit ${out.code} signal ${out.signal}\n${out.stdout}\n${out.stderr}`;
	assert.equal(out.signal, null, info);
	assert.doesNotMatch(out.stderr, SANITIZER, info);
	assert.equal(out.code, exitCode, info);
}

function expectResult(out, rcpt, want) {
	const r = out.by[rcpt];
	assert.ok(r, `no result for ${rcpt}:\n${out.stdout}`);
	for (const [k, v] of Object.entries(want)) {
		if (v instanceof RegExp)
			assert.match(r[k], v, `${rcpt}.${k}: ${JSON.stringify(r)}`);
		else
			assert.equal(r[k], v, `${rcpt}.${k}: ${JSON.stringify(r)}`);
	}
}

/* Every message TEMPFAIL with no reply of its own, the session failed with kind. */
function sessionFailed(out, kind, reason) {
	ran(out, 1);
	assert.equal(out.sessions.length, 1, out.stdout);
	assert.equal(out.sessions[0].status, 'fail', out.stdout);
	assert.equal(out.sessions[0].kind, kind, out.stdout);
	assert.match(out.sessions[0].reason, reason, out.stdout);
	assert.ok(out.results.length > 0);
	for (const r of out.results) {
		assert.equal(r.outcome, 'tempfail', JSON.stringify(r));
		assert.equal(r.code, 0, JSON.stringify(r));
		assert.equal(r.stage, 'none', JSON.stringify(r));
		assert.equal(r.text, out.sessions[0].reason);
	}
}

let certs;
/* A self-signed certificate for localhost and 127.0.0.1, made once per run. */
function makeCert() {
	if (!certs) {
		certs = { cert: path.join(tmp, 'cert.pem'), key: path.join(tmp, 'key.pem') };
		execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
			'-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '2',
			'-keyout', certs.key, '-out', certs.cert], { stdio: 'pipe' });
	}
	return certs;
}

/* tests/tools/test_sink.py on a free port: { port, accepted() (rcpt -> bytes lines), stop() } */
async function startTestSink({ tls = false, auth = null } = {}) {
	const port = await freePort();
	const dir = fs.mkdtempSync(path.join(tmp, 'ts-'));
	const logPath = path.join(dir, 'accepted.tsv');
	const args = [TEST_SINK, String(port), '--log', logPath];
	if (tls) {
		const c = makeCert();
		args.push('--tls', c.cert, c.key);
	}
	if (auth)
		args.push('--auth', auth);
	const out = fs.openSync(path.join(dir, 'sink.log'), 'a');
	const child = spawn(PYTHON, args, { stdio: ['ignore', out, out] });
	fs.closeSync(out);
	children.push(child);
	await waitForPort(port, { what: 'test_sink.py', isDead: () => child.exitCode !== null,
		logTail: () => fs.readFileSync(path.join(dir, 'sink.log'), 'utf8') });
	return {
		port,
		accepted() {
			if (!fs.existsSync(logPath))
				return [];
			return fs.readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => {
				const [rcpt, bytes] = l.split('\t');
				return { rcpt, bytes: Number(bytes) };
			});
		},
		stop() {
			if (child.exitCode === null)
				child.kill('SIGTERM');
		},
	};
}

/* A whole message with every header libesmtp would otherwise add, and a dot line. */
function message(rcpt, n) {
	return `From: Sender <sender@example.org>\r\nTo: <${rcpt}>\r\nSubject: relay test ${n}\r\n` +
		`Date: Thu, 1 Jan 2026 00:00:0${n} +0000\r\nMessage-ID: <relay-${n}@example.org>\r\n` +
		'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
		`Hello ${n}.\r\n.a line that starts with a dot\r\n..two dots\r\n.\r\n\r\n${'x'.repeat(70 + n)}\r\n`;
}

test('the driver and the peers are available', () => {
	assert.ok(fs.existsSync(DRIVER), `relay_send not found (${DRIVER}): build it or set SESD_RELAY_SEND`);
	execFileSync(PYTHON, ['-c', 'import aiosmtpd'], { stdio: 'pipe' });
	assert.ok(fs.existsSync(TEST_SINK));
});

test('three messages reach smtp-sink byte for byte, one transaction each', async () => {
	const sink = await startSink();
	try {
		const rcpts = ['one@example.com', 'two@example.net', 'three@example.org'];
		const args = ['-f', 'bounces@example.org', '127.0.0.1', String(sink.port)];
		const texts = {};
		rcpts.forEach((r, i) => {
			const file = path.join(tmp, `msg${i}.eml`);
			texts[r] = message(r, i + 1);
			fs.writeFileSync(file, texts[r]);
			args.push(`${r}=${file}`);
		});
		const out = await relaySend(args);
		ran(out, 0);
		assert.equal(out.sessions[0].status, 'ok');
		for (const r of rcpts)
			expectResult(out, r, { outcome: 'sent', code: 250, stage: 'data', enh: '2.0.0', text: 'Ok' });
		assert.deepEqual(out.nodelay, { connects: 1, set: 1 });
		const msgs = await sink.waitForMessages(3, 10000);
		assert.equal(msgs.length, 3);
		for (const m of msgs) {
			assert.equal(m.mailFrom, 'bounces@example.org');
			assert.equal(m.rcpts.length, 1, m.raw);
			/* the dump drops CRs, undoes the dot-stuffing and ends with an empty line */
			assert.equal(m.message, texts[m.rcpts[0]].replace(/\r\n/g, '\n') + '\n', m.raw);
		}
		assert.deepEqual(msgs.map((m) => m.rcpts[0]).sort(), [...rcpts].sort());
	} finally {
		await sink.stop();
	}
});

test('per-recipient replies are classified; a connection dropped mid-batch leaves the rest tempfail', async () => {
	const sink = await startTestSink();
	try {
		const rcpts = ['ok1@example.org', 'soft1@example.org', 'hard1@example.org', 'ok2@example.org',
			'drop1@example.org', 'ok3@example.org', 'ok4@example.org'];
		const file = path.join(tmp, 'classify.eml');
		const text = message('list@example.org', 5);
		fs.writeFileSync(file, text);
		const out = await relaySend(['-m', file, '127.0.0.1', String(sink.port), ...rcpts]);
		ran(out, 0); /* the session ran: per-message results, no crash (pitfall 4) */
		assert.equal(out.sessions[0].status, 'ok', out.stdout);
		/* test_sink.py does not announce ENHANCEDSTATUSCODES: the code is taken from the text */
		expectResult(out, 'ok1@example.org', { outcome: 'sent', code: 250, stage: 'data', enh: '2.0.0', text: 'OK queued' });
		expectResult(out, 'soft1@example.org', { outcome: 'tempfail', code: 451, stage: 'rcpt', enh: '4.3.0', text: 'Temporary failure (test)' });
		expectResult(out, 'hard1@example.org', { outcome: 'permfail', code: 550, stage: 'rcpt', enh: '5.1.1', text: 'No such user (test)' });
		expectResult(out, 'ok2@example.org', { outcome: 'sent', code: 250, stage: 'data' });
		expectResult(out, 'drop1@example.org', { outcome: 'tempfail', code: 421, stage: 'rcpt', enh: '4.4.2', text: 'Closing connection (test)' });
		for (const r of ['ok3@example.org', 'ok4@example.org'])
			expectResult(out, r, { outcome: 'tempfail', code: 0, stage: 'none', text: /^not attempted: connection lost/ });
		const acc = sink.accepted();
		assert.deepEqual(acc.map((a) => a.rcpt), ['ok1@example.org', 'ok2@example.org']);
		/* aiosmtpd keeps the CRLFs and undoes the dot-stuffing: the same bytes arrived */
		for (const a of acc)
			assert.equal(a.bytes, Buffer.byteLength(text));
	} finally {
		sink.stop();
	}
});

test('DATA replies: 4xx is tempfail, 5xx after the dot is permfail, both at stage data', async () => {
	for (const [args, outcome, code] of [[['-r', 'DATA'], 'tempfail', 450], [['-f', '.'], 'permfail', 500]]) {
		const sink = await startSink({ args });
		try {
			const out = await relaySend(['127.0.0.1', String(sink.port), 'a@example.org', 'b@example.org']);
			ran(out, 0);
			for (const r of ['a@example.org', 'b@example.org'])
				expectResult(out, r, { outcome, code, stage: 'data', enh: `${code / 100 | 0}.3.0` });
		} finally {
			await sink.stop();
		}
	}
});

test('an envelope address with < > or CR/LF is refused locally, the others still go', async () => {
	const sink = await startSink();
	try {
		const out = await relaySend(['127.0.0.1', String(sink.port), 'good@example.org', 'bad>x@example.org']);
		ran(out, 0);
		expectResult(out, 'good@example.org', { outcome: 'sent', code: 250 });
		expectResult(out, 'bad>x@example.org', { outcome: 'permfail', code: 0, stage: 'none', text: /^not sent: envelope/ });
		const msgs = await sink.waitForMessages(1, 10000);
		assert.deepEqual(msgs.map((m) => m.rcpts), [['good@example.org']]);
	} finally {
		await sink.stop();
	}
});

test('TCP_NODELAY is set on the relay socket; 2,000 messages of 4 KB over one session', async (t) => {
	const sink = await startSink();
	try {
		const out = await relaySend(['-q', '-b', '4000', '-N', '2000', '127.0.0.1', String(sink.port)]);
		ran(out, 0);
		assert.equal(out.sessions.length, 1);
		assert.equal(out.sessions[0].status, 'ok', out.stdout);
		/* one connection for the whole batch, and the socket read back TCP_NODELAY=1 */
		assert.deepEqual(out.nodelay, { connects: 1, set: 1 });
		const deadline = Date.now() + 30000;
		while (sink.files().length < 2000 && Date.now() < deadline)
			await new Promise((r) => setTimeout(r, 100));
		assert.equal(sink.files().length, 2000);
		t.diagnostic(`2000 x 4 KB in ${out.sessions[0].secs} s: ${out.sessions[0].rate} msgs/s (smtp-sink -d; not asserted)`);
	} finally {
		await sink.stop();
	}
});

test('STARTTLS required against a relay without STARTTLS: session failure, nothing sent', async () => {
	const sink = await startSink();
	try {
		const out = await relaySend(['-t', 'required', '127.0.0.1', String(sink.port), 'a@example.org', 'b@example.org']);
		sessionFailed(out, 'tls', /^STARTTLS required but 127\.0\.0\.1:\d+ does not offer it$/);
		await new Promise((r) => setTimeout(r, 300));
		assert.equal(sink.files().length, 0);
	} finally {
		await sink.stop();
	}
});

test('STARTTLS opportunistic against smtp-sink (no STARTTLS) goes on in plain text', async () => {
	const sink = await startSink();
	try {
		const out = await relaySend(['-t', 'opportunistic', '127.0.0.1', String(sink.port), 'a@example.org']);
		ran(out, 0);
		expectResult(out, 'a@example.org', { outcome: 'sent', code: 250 });
		assert.equal((await sink.waitForMessages(1, 10000)).length, 1);
	} finally {
		await sink.stop();
	}
});

test('ten STARTTLS sessions with AUTH in one process (own SSL_CTX, TLS 1.2), certificate verified', async () => {
	const sink = await startTestSink({ tls: true, auth: 'alice:s3cret' });
	try {
		const { cert } = makeCert();
		/* pitfall 3: a second session with libesmtp's own SSL_CTX dies of SIGSEGV; pitfall 2:
		 * under TLS 1.3 about 4 sessions in 10 hang after the handshake (here: until -T) */
		const out = await relaySend(['-s', '10', '-T', '5000', '-t', 'required', '-v', '-a', cert, '-u', 'alice',
			'-p', 's3cret', 'localhost', String(sink.port), 'ok1@example.org', 'soft1@example.org'], { timeoutMs: 90000 });
		ran(out, 0);
		assert.equal(out.sessions.length, 10);
		for (const s of out.sessions)
			assert.equal(s.status, 'ok', out.stdout);
		assert.equal(out.results.filter((r) => r.rcpt === 'ok1@example.org' && r.outcome === 'sent').length, 10);
		assert.equal(out.results.filter((r) => r.rcpt === 'soft1@example.org' && r.code === 451).length, 10);
		assert.deepEqual(sink.accepted().map((a) => a.rcpt), Array(10).fill('ok1@example.org'));
	} finally {
		sink.stop();
	}
});

test('certificate checks: IP literal against an IP SAN passes, an unknown CA fails the session', async () => {
	const sink = await startTestSink({ tls: true });
	try {
		const { cert } = makeCert();
		const good = await relaySend(['-t', 'required', '-v', '-a', cert, '127.0.0.1', String(sink.port), 'ok1@example.org']);
		ran(good, 0);
		expectResult(good, 'ok1@example.org', { outcome: 'sent', code: 250 });
		const bad = await relaySend(['-t', 'required', '-v', 'localhost', String(sink.port), 'ok2@example.org']);
		sessionFailed(bad, 'tls', /^certificate of localhost:\d+ rejected: self-signed certificate/);
		/* without -v the same certificate is accepted (opportunistic encryption) */
		const lax = await relaySend(['-t', 'opportunistic', 'localhost', String(sink.port), 'ok3@example.org']);
		ran(lax, 0);
		expectResult(lax, 'ok3@example.org', { outcome: 'sent' });
		assert.deepEqual(sink.accepted().map((a) => a.rcpt), ['ok1@example.org', 'ok3@example.org']);
	} finally {
		sink.stop();
	}
});

test('AUTH with a wrong password is an auth failure before any MAIL FROM, never bounces', async () => {
	const sink = await startTestSink({ tls: true, auth: 'alice:s3cret' });
	try {
		const { cert } = makeCert();
		const out = await relaySend(['-t', 'required', '-v', '-a', cert, '-u', 'alice', '-p', 'wrong',
			'localhost', String(sink.port), 'ok1@example.org', 'hard1@example.org', 'ok2@example.org']);
		/* libesmtp alone would carry on unauthenticated and the sink would accept (pitfall 5) */
		sessionFailed(out, 'auth', /^authentication failed: 535 5\.7\.8 Authentication credentials invalid$/);
		assert.deepEqual(sink.accepted(), []);
		/* the right password on the same relay works */
		const ok = await relaySend(['-t', 'required', '-v', '-a', cert, '-u', 'alice', '-p', 's3cret',
			'localhost', String(sink.port), 'ok1@example.org']);
		ran(ok, 0);
		expectResult(ok, 'ok1@example.org', { outcome: 'sent', code: 250 });
		assert.deepEqual(sink.accepted().map((a) => a.rcpt), ['ok1@example.org']);
	} finally {
		sink.stop();
	}
});

test('AUTH configured but not offered (test_sink offers it only after STARTTLS): auth failure', async () => {
	const sink = await startTestSink({ tls: true, auth: 'alice:s3cret' });
	try {
		const out = await relaySend(['-u', 'alice', '-p', 's3cret', '127.0.0.1', String(sink.port), 'ok1@example.org']);
		sessionFailed(out, 'auth', /^authentication failed: the relay offered no AUTH mechanism/);
		assert.deepEqual(sink.accepted(), []);
	} finally {
		sink.stop();
	}
});

test('a relay that answers MAIL FROM with 530 5.7.0: auth failure, not bounces', async () => {
	const sink = await startSink({ args: ['-f', 'MAIL', '-B', '530 5.7.0 Authentication required'] });
	try {
		const out = await relaySend(['127.0.0.1', String(sink.port), 'a@example.org', 'b@example.org', 'c@example.org']);
		sessionFailed(out, 'auth', /^relay requires authentication \(no \[smtp\] auth configured\): 530 5\.7\.0 Authentication required$/);
	} finally {
		await sink.stop();
	}
});

test('relay down (connection refused): connect failure, every message tempfail', async () => {
	const port = await freePort();
	const out = await relaySend(['127.0.0.1', String(port), 'a@example.org', 'b@example.org']);
	sessionFailed(out, 'connect', new RegExp(`^connect to 127\\.0\\.0\\.1:${port}: Connection refused$`));
	assert.deepEqual(out.nodelay, { connects: 1, set: 0 });
});

test('a relay that accepts but never greets: session failure after the command timeout', async () => {
	const sockets = [];
	const server = net.createServer((s) => sockets.push(s)); /* accepts, never writes */
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	try {
		const out = await relaySend(['-T', '1000', '127.0.0.1', String(server.address().port), 'a@example.org']);
		sessionFailed(out, 'session', /no greeting within 1000 ms$/);
		assert.ok(out.sessions[0].secs >= 0.9, out.stdout);
		assert.ok(out.ms < 15000, `took ${out.ms} ms`); /* bounded; libesmtp's default is 5 min */
	} finally {
		for (const s of sockets)
			s.destroy();
		server.close();
	}
});

test('no reply after the message (smtp-sink -W .:5): tempfail at stage data after the command timeout', async () => {
	const sink = await startSink({ args: ['-W', '.:5'] });
	try {
		const out = await relaySend(['-T', '1000', '127.0.0.1', String(sink.port), 'a@example.org', 'b@example.org']);
		ran(out, 0); /* the session ran; libesmtp's own wait here is 10 min */
		expectResult(out, 'a@example.org', { outcome: 'tempfail', code: 0, stage: 'data',
			text: 'no reply after the message: no reply to the message within 1000 ms' });
		expectResult(out, 'b@example.org', { outcome: 'tempfail', code: 0, stage: 'none', text: /^not attempted: / });
		assert.ok(out.ms < 15000, `took ${out.ms} ms`);
	} finally {
		await sink.stop();
	}
});

test('connect() that never completes (full listen backlog): connect failure after the connect timeout', async () => {
	/* a listener with backlog 0 whose queue is full: the kernel drops further SYNs, so
	 * connect() hangs; node cannot leave connections unaccepted, python can */
	const port = await freePort();
	const holder = spawn(PYTHON, ['-c', `
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', ${port})); s.listen(0)
held = []
for i in range(4):
    c = socket.socket(); c.setblocking(False)
    try:
        c.connect(('127.0.0.1', ${port}))
    except BlockingIOError:
        pass
    held.append(c)
time.sleep(0.3)
print('ready', flush=True)
time.sleep(120)
`], { stdio: ['ignore', 'pipe', 'inherit'] });
	children.push(holder);
	await new Promise((resolve, reject) => {
		holder.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
		holder.once('exit', (c) => reject(new Error(`backlog holder exited with ${c}`)));
	});
	try {
		const out = await relaySend(['-c', '1000', '-T', '5000', '127.0.0.1', String(port), 'a@example.org']);
		sessionFailed(out, 'connect', new RegExp(`^connect to 127\\.0\\.0\\.1:${port}: timed out after 1000 ms$`));
		assert.ok(out.sessions[0].secs >= 0.9, out.stdout);
		assert.ok(out.ms < 15000, `took ${out.ms} ms`);
	} finally {
		holder.kill('SIGKILL');
	}
});
