'use strict';
/*
 * tests/bench/delivery.js (run through delivery.sh): sesd's delivery pipeline
 * against postfix smtp-source, both measured in this run on this machine so
 * that a shared, noisy machine cancels out.
 *  - one list of BENCH_RECIPIENTS (default 100,000) recipients with per-recipient
 *    data, uploaded with 5 CreateReceiverDetailWithData calls (not timed);
 *    a text+html template whose rendered message is ~4 KB (measured on a sample
 *    dumped by a second, dumping smtp-sink before the timed runs);
 *  - one postfix smtp-sink WITHOUT -d (dumping costs throughput), shared by
 *    both sides;
 *  - per DKIM mode (off, then on with the domain's 2048-bit key):
 *      baseline: smtp-source -s W -m N -l 4000 -d (W = sesd's [smtp] workers),
 *                run before AND after sesd's run; the mean is the reference
 *      sesd:     clock from the BatchSendEmail call to the moment the task turns
 *                10 (the statement that records its last result does that;
 *                polled every 100 ms), then all N must be 'sent';
 *    and the ratio, the CPU used per process during each window, and the peak
 *    RSS (VmHWM) of sesd's parent and each worker at the end of the run.
 * Env: BENCH_RECIPIENTS (multiple of 5), BENCH_WORKERS, BENCH_PER_SESSION,
 *      BENCH_DKIM ("off on").
 */
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const stack = require('../integration/lib/stack');
const { signedRequest } = require('../tools/tc3sign');

const N = Number(process.env.BENCH_RECIPIENTS || 100000);
const WORKERS = Number(process.env.BENCH_WORKERS || 4);
const PER_SESSION = Number(process.env.BENCH_PER_SESSION || 500);
/* BENCH_PGSS=1: print PostgreSQL's busiest statements of each sesd run (pg_stat_statements) */
const PGSS = process.env.BENCH_PGSS === '1';
if (PGSS)
	process.env.PGSH_OPTS = '-c shared_preload_libraries=pg_stat_statements';
const MODES = (process.env.BENCH_DKIM || 'off on').split(/\s+/).filter(Boolean);
const CALLS = 5;
const SMTP_SOURCE = fs.existsSync('/usr/sbin/smtp-source') ? '/usr/sbin/smtp-source' : 'smtp-source';
const SMTP_SINK = fs.existsSync('/usr/sbin/smtp-sink') ? '/usr/sbin/smtp-sink' : 'smtp-sink';
const DOMAIN = 'mail.example.com';
const SENDER = `news@${DOMAIN}`;
const TICK = 100;
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (N % CALLS)
	throw new Error(`BENCH_RECIPIENTS must be a multiple of ${CALLS}`);

/* ---------- /proc ---------- */

function stat(pid) {
	try {
		const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
		return { ppid: Number(rest[1]), cpu: (Number(rest[11]) + Number(rest[12])) / TICK };
	} catch {
		return null;
	}
}

function pids() {
	return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function childrenOf(ppid) {
	return pids().filter((p) => {
		const s = stat(p);
		return s && s.ppid === ppid;
	});
}

function exe(pid) {
	try {
		return fs.readlinkSync(`/proc/${pid}/exe`);
	} catch {
		return null;
	}
}

function vmHWM(pid) {
	try {
		const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Number(m[1]) : null;
	} catch {
		return null;
	}
}

/* sesd's workers: the parent's children running the same executable */
function workersOf(pid) {
	const e = exe(pid);
	return childrenOf(pid).filter((c) => exe(c) === e);
}

function postmasterPid(pg) {
	return Number(fs.readFileSync(path.join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/* CPU seconds so far: sesd parent, its workers (sum), the PostgreSQL cluster, the sink,
 * and whatever extra pids are given */
function cpu(sesdPid, pg, sinkPid, extra = []) {
	const pm = postmasterPid(pg);
	const sum = (list) => list.reduce((a, p) => a + ((stat(p) || { cpu: 0 }).cpu), 0);
	return {
		parent: sesdPid ? sum([sesdPid]) : 0,
		workers: sesdPid ? sum(workersOf(sesdPid)) : 0,
		pg: sum([pm, ...childrenOf(pm)]),
		sink: sum([sinkPid]),
		extra: sum(extra),
	};
}

function diff(a, b) {
	const o = {};
	for (const k of Object.keys(a))
		o[k] = b[k] - a[k];
	return o;
}

/* ---------- processes ---------- */

function startPlainSink(port, logPath) {
	/* 1024 = listen backlog; no -d: nothing is written per message */
	const out = fs.openSync(logPath, 'w');
	const child = spawn(SMTP_SINK, ['-u', 'nobody', '-4', `127.0.0.1:${port}`, '1024'],
		{ stdio: ['ignore', out, out] });
	fs.closeSync(out);
	return child;
}

function timedRun(cmd, args) {
	const t0 = process.hrtime.bigint();
	const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
	const done = new Promise((resolve, reject) => {
		let out = '';
		child.stdout.on('data', (d) => { out += d; });
		child.stderr.on('data', (d) => { out += d; });
		child.on('error', reject);
		child.on('exit', (code, sig) => {
			const ms = Number(process.hrtime.bigint() - t0) / 1e6;
			if (code !== 0)
				reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? sig}: ${out}`));
			else
				resolve({ ms, out });
		});
	});
	return { pid: child.pid, done };
}

/* ---------- content ---------- */

const LOREM = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor ' +
	'incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud ' +
	'exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.';

function templateParts() {
	let text = 'Hello {{name}},\n\nYour order {{code}} ships to {{city}} this week.\n\n';
	let html = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Order {{code}}</title></head>\n' +
		'<body style="font-family: Arial, sans-serif; color: #333333;">\n' +
		'<h1 style="font-size: 20px;">Hello {{name}},</h1>\n' +
		'<p>Your order <b>{{code}}</b> ships to {{city}} this week.</p>\n';
	for (let i = 1; i <= 5; i++) {
		text += `${i}. ${LOREM}\n\n`;
		html += `<p style="margin: 0 0 12px 0;">${i}. ${LOREM}</p>\n`;
	}
	text += 'Regards,\nThe shop team\n';
	html += '<p>Regards,<br>The shop team</p>\n</body></html>\n';
	return { text, html };
}

function rowsFor(k, n) {
	const rows = [];
	for (let i = 0; i < n; i++) {
		const j = k * n + i;
		rows.push({ Email: `user${j}@example.org`, TemplateData: JSON.stringify({
			name: `User ${j}`, code: `A${String(1000000 + j)}`, city: `City ${j % 997}` }) });
	}
	return rows;
}

/* ---------- sesd ---------- */

function sesdConf(sinkPort, dkim, workers) {
	return {
		api: { rate_limit: 0 },
		sesd: { log_level: 'warning' },
		limits: { receivers_per_list: Math.max(N, 100000) },
		smtp: { relay_host: '127.0.0.1', relay_port: sinkPort, starttls: 'none', workers,
			messages_per_session: PER_SESSION, command_timeout: 60 },
		dkim: { sign: dkim ? 'yes' : 'no' },
	};
}

async function setup(pg) {
	/* a dumping sink, only for one sample message: its size is reported */
	const dumpSink = await stack.startSink();
	const sesd = await stack.startSesd({ pg, conf: sesdConf(dumpSink.port, true, 1) });
	try {
		const c = stack.sdkClient(sesd, 0, { httpProfile: { reqTimeout: 120 } });
		await c.CreateEmailIdentity({ EmailIdentity: DOMAIN, DKIMOption: 1 });
		await c.CreateEmailAddress({ EmailAddress: SENDER, EmailSenderName: 'Shop' });
		const g = await c.GetEmailIdentity({ EmailIdentity: DOMAIN });
		const pub = /p=([A-Za-z0-9+/=]+)/.exec(g.Attributes[1].ExpectedValue)[1];
		const keyBits = Buffer.from(pub, 'base64').length > 270 ? 2048 : 1024; /* SPKI DER: 294 vs 162 bytes */
		const { text, html } = templateParts();
		const tpl = (await c.CreateEmailTemplate({ TemplateName: 'bench delivery',
			TemplateContent: { Html: b64(html), Text: b64(text) } })).TemplateID;
		const { ReceiverId } = await c.CreateReceiver({ ReceiversName: 'bench delivery', Desc: 'bench' });
		const acct = sesd.accounts[0];
		const t0 = Date.now();
		for (let k = 0; k < CALLS; k++) {
			const body = JSON.stringify({ ReceiverId, Datas: rowsFor(k, N / CALLS) });
			const r = await signedRequest({ endpoint: sesd.endpoint, secretId: acct.secretId,
				secretKey: acct.secretKey, action: 'CreateReceiverDetailWithData', body, timeoutMs: 300000 });
			if (!r.json || !r.json.Response || r.json.Response.ValidCount !== N / CALLS)
				throw new Error(`CreateReceiverDetailWithData: ${r.body.slice(0, 300)}`);
		}
		const uploadMs = Date.now() - t0;
		/* one sample, signed, to the dumping sink */
		await c.SendEmail({ FromEmailAddress: SENDER, Destination: ['user7@example.org'], Subject: 'Order {{code}} for {{name}}',
			Template: { TemplateID: tpl, TemplateData: rowsFor(0, 8)[7].TemplateData } });
		const [m] = await dumpSink.waitForMessages(1, 30000);
		const sampleBytes = Buffer.byteLength(m.message.replace(/\r?\n/g, '\r\n'));
		return { tpl, list: ReceiverId, keyBits, sampleBytes, uploadMs };
	} finally {
		await sesd.stop();
		await dumpSink.stop();
	}
}

async function runSesd(pg, sinkPort, sinkPid, ids, dkim) {
	const sesd = await stack.startSesd({ pg, conf: sesdConf(sinkPort, dkim, WORKERS), migrate: false });
	try {
		const c = stack.sdkClient(sesd, 0, { httpProfile: { reqTimeout: 120 } });
		await sleep(300); /* let the workers come up */
		const workers = workersOf(sesd.pid);
		if (workers.length !== WORKERS)
			throw new Error(`expected ${WORKERS} workers, found ${workers.length}`);
		if (PGSS)
			pg.psql('CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()');
		const c0 = cpu(sesd.pid, pg, sinkPid);
		const t0 = process.hrtime.bigint();
		const r = await c.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId: ids.list,
			Subject: 'Order {{code}} for {{name}}', TaskType: 1, Template: { TemplateID: ids.tpl } });
		const task = r.TaskId;
		/* the task turns 10 in the statement that records its last result; polling that
		 * one row on one open session costs next to nothing (a psql process and a new
		 * backend every 100 ms took about 5% of the CPU, from sesd's side of the ratio) */
		const tStart = Date.now();
		const poller = openSession(pg);
		try {
			for (;;) {
				if (await poller.query(`SELECT status FROM send_tasks WHERE id=${task}`) === '10')
					break;
				if (Date.now() - tStart > 600000)
					throw new Error(`task ${task} not finished after 600 s\n${sesd.log().slice(-3000)}`);
				await sleep(100);
			}
		} finally {
			poller.close();
		}
		const ms = Number(process.hrtime.bigint() - t0) / 1e6;
		const c1 = cpu(sesd.pid, pg, sinkPid);
		if (PGSS)
			console.log(pg.psql(`SELECT format('  %8s ms %8s calls %7s us/row  %s', round(total_exec_time), calls,
				round((1000 * total_exec_time / greatest(rows, 1))::numeric, 1), left(regexp_replace(query, '\\s+', ' ', 'g'), 110))
				FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 20`) + '\n' +
				pg.psql(`SELECT format('  deliveries: %s autovacuum, %s autoanalyze, %s dead rows', autovacuum_count,
				autoanalyze_count, n_dead_tup) FROM pg_stat_user_tables WHERE relname = 'deliveries'`));
		const states = pg.psql(`SELECT state || '=' || count(*) FROM deliveries WHERE task_id=${task} GROUP BY state ORDER BY 1`)
			.split('\n').join(' ');
		const sent = Number(pg.psql(`SELECT count(*) FROM deliveries WHERE task_id=${task} AND state='sent'`));
		const parentHWM = vmHWM(sesd.pid);
		const workerHWM = workersOf(sesd.pid).map(vmHWM);
		return { ms, rate: N / (ms / 1000), sent, states, parentHWM, workerHWM, cpu: diff(c0, c1), task };
	} finally {
		await sesd.stop();
	}
}

async function runSource(pg, sinkPort, sinkPid) {
	const args = ['-4', '-M', 'localhost', '-f', 'a@b', '-t', 'c@d', '-l', '4000', '-s', String(WORKERS),
		'-d', '-m', String(N), `127.0.0.1:${sinkPort}`];
	const c0 = cpu(null, pg, sinkPid);
	let srcCpu = 0;
	const p = timedRun(SMTP_SOURCE, args);
	/* smtp-source's own CPU: sampled until it exits */
	const pid = p.pid;
	const poll = setInterval(() => {
		const s = stat(pid);
		if (s)
			srcCpu = s.cpu;
	}, 50);
	let r;
	try {
		r = await p.done;
	} finally {
		clearInterval(poll);
	}
	const c1 = cpu(null, pg, sinkPid);
	return { ms: r.ms, rate: N / (r.ms / 1000), cpu: { ...diff(c0, c1), source: srcCpu }, cmd: `smtp-source ${args.join(' ')}` };
}

/* One psql session kept open: query(sql) -> its one-line, unaligned result. */
function openSession(pg) {
	const p = spawn('psql', ['-X', '-q', '-At', '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', '-d', 'sesd'],
		{ stdio: ['pipe', 'pipe', 'inherit'] });
	let buf = '';
	const waiting = [];
	p.stdout.on('data', (d) => {
		buf += d;
		let i;
		while ((i = buf.indexOf('\n')) >= 0) {
			const line = buf.slice(0, i);
			buf = buf.slice(i + 1);
			const w = waiting.shift();
			if (w)
				w(line);
		}
	});
	return {
		query(sql) {
			return new Promise((resolve) => {
				waiting.push(resolve);
				p.stdin.write(`${sql};\n`);
			});
		},
		close() {
			p.stdin.end();
		},
	};
}

const f0 = (x) => x.toFixed(0);
const mb = (kb) => (kb / 1024).toFixed(1);

async function main() {
	const tAll = Date.now();
	const pg = await stack.startPg(); /* fsync=off, synchronous_commit=off, full_page_writes=off */
	const work = fs.mkdtempSync('/tmp/sesd-bench-delivery-');
	const sinkPort = await stack.freePort();
	const sink = startPlainSink(sinkPort, path.join(work, 'smtp-sink.log'));
	try {
		await stack.waitForPort(sinkPort, { what: 'smtp-sink', timeoutMs: 10000 });
		const ids = await setup(pg);
		const nproc = require('os').cpus().length;
		/* what RSA-2048 signing costs on this machine today: it bounds the DKIM-on rate */
		const speed = require('child_process').spawnSync('openssl', ['speed', '-seconds', '2', 'rsa2048'],
			{ encoding: 'utf8' });
		const sm = /rsa 2048 bits\s+\S+\s+\S+\s+([\d.]+)/.exec(speed.stdout || '');
		const signs = sm ? Number(sm[1]) : null;
		console.log(`delivery bench: ${N} recipients, ${nproc} CPUs, sesd -O2 (build-release, SESD_ASSERT=OFF)`);
		console.log(`  config     : [smtp] workers=${WORKERS} messages_per_session=${PER_SESSION} starttls=none; ` +
			`[limits] receivers_per_list=${Math.max(N, 100000)}; [api] rate_limit=0; [sesd] log_level=warning`);
		console.log('  PostgreSQL : stack.startPg, fsync=off synchronous_commit=off full_page_writes=off');
		console.log(`  sink       : smtp-sink -u nobody -4 127.0.0.1:${sinkPort} 1024 (no -d, shared by both sides)`);
		console.log(`  message    : text+html template, 3 per-recipient variables; rendered sample ${ids.sampleBytes} bytes ` +
			`(with a ${ids.keyBits}-bit DKIM signature); upload ${CALLS} x ${N / CALLS} rows in ${(ids.uploadMs / 1000).toFixed(1)} s (not timed)`);
		const results = [];
		for (const mode of MODES) {
			const dkim = mode === 'on';
			/* the baseline before and after sesd's run, their mean the reference: a shared
			 * machine's load drifts */
			const before = await runSource(pg, sinkPort, sink.pid);
			const real = await runSesd(pg, sinkPort, sink.pid, ids, dkim);
			const after = await runSource(pg, sinkPort, sink.pid);
			const base = { ...before, rate: (before.rate + after.rate) / 2, before, after };
			results.push({ mode, base, real });
			const target = dkim ? 0.2 : 0.5;
			const ratio = real.rate / base.rate;
			console.log(`DKIM ${mode}${dkim ? ` (${ids.keyBits}-bit)` : ''}:`);
			console.log(`  ${base.cmd}`);
			for (const [when, b] of [['before', base.before], ['after', base.after]])
				console.log(`  smtp-source ${when.padEnd(6)}   : ${f0(b.rate)} msgs/s (${(b.ms / 1000).toFixed(2)} s; ` +
					`CPU s: source ${b.cpu.source.toFixed(1)}, sink ${b.cpu.sink.toFixed(1)})`);
			console.log(`  smtp-source mean     : ${f0(base.rate)} msgs/s`);
			console.log(`  sesd end to end      : ${f0(real.rate)} msgs/s (${(real.ms / 1000).toFixed(2)} s, task ${real.task}; ${real.states})`);
			console.log(`  ratio                : ${ratio.toFixed(2)} (target >= ${target})${ratio >= target ? '' : '  BELOW TARGET'}`);
			if (dkim && signs)
				console.log(`  signing bound        : openssl speed rsa2048 ${f0(signs)} signs/s per core now, so signing alone ` +
					`caps ${nproc} cores at ${f0(signs * nproc)} msgs/s (${((signs * nproc) / base.rate).toFixed(2)} of smtp-source); ` +
					`sesd reached ${((real.rate / (signs * nproc)) * 100).toFixed(0)}% of that`);
			console.log(`  CPU s during sesd run: parent ${real.cpu.parent.toFixed(1)}, workers ${real.cpu.workers.toFixed(1)}, ` +
				`postgres ${real.cpu.pg.toFixed(1)}, sink ${real.cpu.sink.toFixed(1)} ` +
				`(${((real.cpu.parent + real.cpu.workers + real.cpu.pg + real.cpu.sink) / (real.ms / 1000)).toFixed(2)} of ${nproc} CPUs)`);
			const wmax = Math.max(...real.workerHWM);
			console.log(`  peak RSS (VmHWM)     : parent ${mb(real.parentHWM)} MB (target < 64), workers ` +
				`${real.workerHWM.map(mb).join(' / ')} MB (target < 32)` +
				`${real.parentHWM < 65536 && wmax < 32768 ? '' : '  ABOVE TARGET'}`);
			if (real.sent !== N)
				throw new Error(`only ${real.sent} of ${N} deliveries are 'sent' (${real.states})`);
		}
		console.log(`total wall time ${((Date.now() - tAll) / 1000).toFixed(0)} s`);
	} finally {
		sink.kill('SIGTERM');
		await pg.stop();
		fs.rmSync(work, { recursive: true, force: true });
	}
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
