'use strict';
/*
 * tests/bench/scheduler.js (run through scheduler.sh): the scheduler of issue 4
 * (daemon/timed.c, db_timed.c, wheel.c), one run, two parts.
 *
 * Setup (through the SDK, like tests/integration/schedule.test.js): one account,
 * identity, sender address, template and a list of 3 recipients; ONE TaskType 2 task
 * whose BeginTime is 2 h ahead (beyond the scheduler's 1 h horizon: never held, never
 * fired). That task is the prototype: the bench's tasks are SQL copies of its
 * send_tasks row (INSERT ... SELECT FROM generate_series; a new id and msgid_key from
 * their defaults, begin_time/begin_at/next_run_at set), because 100,000
 * BatchSendEmail calls would make the setup the bench.
 *
 * 1. Holding BENCH_HELD (100,000) pending timed tasks, BeginTime spread evenly over
 *    10..50 min ahead, so all are inside the 1 h horizon.
 *    - baseline: sesd ([smtp] workers = 0: releasing only, no dispatcher, no workers;
 *      [sesd] log_level = debug) on the database WITHOUT the copies, left running as
 *      long as the loaded run below, then VmRSS/VmHWM/RssAnon of the sesd process;
 *    - loaded: the copies inserted, the same sesd started: wall time from the
 *      process's start (its start time in /proc/PID/stat) until its log says
 *      "scheduler: N tasks loaded, 100000 held" (timed.c refill_done, polled every
 *      5 ms), with the time of each refill batch; then, after the same settle time,
 *      its memory, and the difference to the baseline per task held.
 * 2. Firing lag with BENCH_BURST (1,000) tasks due in the same second: the copies of
 *    part 1 deleted, BENCH_BURST fresh copies with one BeginTime ~20 s ahead, sesd
 *    (workers = 0) started; once every one has its run (or 60 s past BeginTime),
 *    lag = task_runs.released_at - send_tasks.begin_at (both the database's clock):
 *    p50/p99/max, the release window (first to last released_at), and a loud failure
 *    unless every task has exactly one task_runs row.
 * Env: BENCH_HELD, BENCH_BURST, BENCH_BURST_AHEAD (s, default 20).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const stack = require('../integration/lib/stack');

const HELD = Number(process.env.BENCH_HELD || 100000);
const BURST = Number(process.env.BENCH_BURST || 1000);
const BURST_AHEAD = Number(process.env.BENCH_BURST_AHEAD || 20);
const SPREAD_FROM = 600; /* s ahead: 10 min */
const SPREAD_TO = 3000; /* s ahead: 50 min */
const SETTLE_MS = 3000; /* both runs: this long after the load (or the start) before memory is read */
const DOMAIN = 'mail.example.com';
const SENDER = `news@${DOMAIN}`;
const TZ = 'Asia/Shanghai';
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TICK = 100; /* clock ticks per second (/proc/PID/stat) */

/* ---------- /proc ---------- */

function procStat(pid) {
	const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
	return { ppid: Number(rest[1]), cpu: (Number(rest[11]) + Number(rest[12])) / TICK, start: Number(rest[19]) / TICK };
}

/* CPU seconds so far of the PostgreSQL cluster: the postmaster and its children */
function pgCpu(pg) {
	const pm = Number(fs.readFileSync(path.join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
	let sum = 0;
	for (const d of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(d))
			continue;
		try {
			const st = procStat(Number(d));
			if (Number(d) === pm || st.ppid === pm)
				sum += st.cpu;
		} catch {
			/* gone meanwhile */
		}
	}
	return sum;
}

/* seconds since the process started (10 ms resolution) */
function ageOf(pid) {
	const up = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
	return up - procStat(pid).start;
}

function memOf(pid) {
	const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	const kb = (k) => {
		const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s);
		return m ? Number(m[1]) : null;
	};
	return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon') };
}

/* Follows a log file: lines appended since the last call. */
function follower(file) {
	let off = 0, rest = '';
	return () => {
		let fd;
		try {
			fd = fs.openSync(file, 'r');
		} catch {
			return [];
		}
		try {
			const size = fs.fstatSync(fd).size;
			if (size <= off)
				return [];
			const buf = Buffer.alloc(size - off);
			fs.readSync(fd, buf, 0, buf.length, off);
			off = size;
			const text = rest + buf.toString('utf8');
			const lines = text.split('\n');
			rest = lines.pop();
			return lines;
		} finally {
			fs.closeSync(fd);
		}
	};
}

/* ---------- sesd ---------- */

function sesdConf() {
	return {
		api: { rate_limit: 0 },
		sesd: { log_level: 'debug', time_zone: TZ },
		/* releasing only: no dispatcher, no workers; the relay is never contacted */
		smtp: { relay_host: '127.0.0.1', relay_port: 9, starttls: 'none', workers: 0 },
	};
}

async function setup(pg) {
	const sesd = await stack.startSesd({ pg, conf: sesdConf() });
	try {
		const c = stack.sdkClient(sesd);
		await c.CreateEmailIdentity({ EmailIdentity: DOMAIN });
		await c.CreateEmailAddress({ EmailAddress: SENDER });
		const tpl = (await c.CreateEmailTemplate({ TemplateName: 'bench scheduler',
			TemplateContent: { Html: b64('<p>Hi {{name}}</p>'), Text: b64('Hi {{name}}') } })).TemplateID;
		const { ReceiverId } = await c.CreateReceiver({ ReceiversName: 'bench scheduler' });
		await c.CreateReceiverDetailWithData({ ReceiverId, Datas: [
			{ Email: 'ann@example.org', TemplateData: '{"name":"Ann"}' },
			{ Email: 'bob@example.org', TemplateData: '{"name":"Bob"}' },
			{ Email: 'cy@example.org', TemplateData: '{"name":"Cy"}' },
		] });
		/* 2 h ahead: outside the 1 h horizon, so the prototype itself is never held */
		const at = Math.ceil(Date.now() / 1000) * 1000 + 7200 * 1000;
		const begin = new Date(at + 8 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');
		const r = await c.BatchSendEmail({ FromEmailAddress: SENDER, ReceiverId, Subject: 'Hi {{name}}',
			TaskType: 2, TimedParam: { BeginTime: begin }, Template: { TemplateID: tpl } });
		return { proto: r.TaskId, list: ReceiverId };
	} finally {
		await sesd.stop();
	}
}

/* n copies of the prototype's send_tasks row: id and msgid_key from their defaults,
 * begin_at = whole second now + SQL expression of g (1..n) seconds */
function copyTasks(pg, proto, n, secondsExpr) {
	const skip = new Set(['id', 'msgid_key', 'begin_time', 'begin_at', 'next_run_at', 'created_at', 'updated_at']);
	const cols = pg.psql(`SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = 'send_tasks' ORDER BY ordinal_position`)
		.split('\n').filter((c) => !skip.has(c));
	const list = cols.map((c) => `"${c}"`).join(', ');
	const sql = `WITH s AS (SELECT g, date_trunc('second', now()) + (${secondsExpr}) * interval '1 second' AS at
			FROM generate_series(1, ${n}) g)
		INSERT INTO send_tasks (${list}, begin_time, begin_at, next_run_at)
		SELECT ${cols.map((c) => `p."${c}"`).join(', ')},
			to_char(s.at AT TIME ZONE '${TZ}', 'YYYY-MM-DD HH24:MI:SS'), s.at, s.at
		FROM send_tasks p, s WHERE p.id = ${proto}`;
	const t0 = Date.now();
	pg.psql(sql);
	pg.psql('ANALYZE send_tasks');
	return { ms: Date.now() - t0, cols: cols.length };
}

/* ---------- part 1 ---------- */

async function holdRun(pg, { expect }) {
	const pg0 = pgCpu(pg);
	const sesd = await stack.startSesd({ pg, conf: sesdConf(), migrate: false });
	try {
		const next = follower(sesd.logPath);
		const batches = [];
		let readyAge = null, heldAge = null;
		const deadline = Date.now() + 120000;
		for (;;) {
			for (const l of next()) {
				let m;
				if (readyAge === null && / ready: api on /.test(l))
					readyAge = ageOf(sesd.pid);
				if ((m = /scheduler: (\d+) tasks loaded, (\d+) held/.exec(l))) {
					const age = ageOf(sesd.pid);
					batches.push({ n: Number(m[1]), held: Number(m[2]), age });
					if (Number(m[2]) >= expect && heldAge === null)
						heldAge = age;
				}
			}
			if (expect === 0 ? readyAge !== null : heldAge !== null)
				break;
			if (Date.now() > deadline)
				throw new Error(`sesd held ${batches.length ? batches[batches.length - 1].held : 0} of ${expect} ` +
					`tasks after 120 s\n${sesd.log().slice(-3000)}`);
			if (sesd.exitStatus)
				throw new Error(`sesd exited\n${sesd.log().slice(-3000)}`);
			await sleep(5);
		}
		const cpuLoad = procStat(sesd.pid).cpu;
		const pgLoad = pgCpu(pg) - pg0;
		await sleep(SETTLE_MS);
		/* nothing more may have been loaded meanwhile */
		for (const l of next()) {
			const m = /scheduler: (\d+) tasks loaded, (\d+) held/.exec(l);
			if (m)
				batches.push({ n: Number(m[1]), held: Number(m[2]), age: ageOf(sesd.pid), late: true });
		}
		const mem = memOf(sesd.pid);
		const cpu = procStat(sesd.pid).cpu;
		const age = ageOf(sesd.pid);
		return { readyAge, heldAge, batches, mem, cpuLoad, pgLoad, cpu, age };
	} finally {
		await sesd.stop();
	}
}

/* ---------- part 2 ---------- */

async function burstRun(pg, proto) {
	/* BeginTime on a whole second BURST_AHEAD s ahead, the same for all */
	const ins = copyTasks(pg, proto, BURST, `${BURST_AHEAD}`);
	const ids = pg.psql(`SELECT min(id), max(id), count(*), count(DISTINCT begin_at),
		extract(epoch FROM min(begin_at) - now())::numeric(8,3) FROM send_tasks WHERE id <> ${proto}`).split('|');
	const [lo, hi, n, distinct, aheadS] = ids;
	if (Number(n) !== BURST || Number(distinct) !== 1)
		throw new Error(`burst copies: ${n} tasks, ${distinct} distinct begin_at`);
	const pg0 = pgCpu(pg);
	const sesd = await stack.startSesd({ pg, conf: sesdConf(), migrate: false });
	try {
		const next = follower(sesd.logPath);
		let loaded = 0;
		const deadline = Date.now() + (BURST_AHEAD + 60) * 1000;
		let done = 0;
		for (;;) {
			for (const l of next()) {
				const m = /scheduler: (\d+) tasks loaded, (\d+) held/.exec(l);
				if (m)
					loaded = Math.max(loaded, Number(m[2]));
			}
			done = Number(await pg.psqlAsync(`SELECT count(*) FROM task_runs WHERE task_id BETWEEN ${lo} AND ${hi}`));
			if (done >= BURST || Date.now() > deadline)
				break;
			await sleep(200);
		}
		await sleep(1500); /* a second release of any task would show by now */
		const cpu = procStat(sesd.pid).cpu;
		/* live processes only: the bench's psql backends have exited, sesd's are still there */
		const pgc = pgCpu(pg) - pg0;
		const runs = pg.psql(`SELECT count(*) FILTER (WHERE k = 0), count(*) FILTER (WHERE k = 1),
			count(*) FILTER (WHERE k > 1) FROM (SELECT t.id, count(r.task_id) AS k FROM send_tasks t
			LEFT JOIN task_runs r ON r.task_id = t.id WHERE t.id BETWEEN ${lo} AND ${hi} GROUP BY t.id) x`)
			.split('|').map(Number);
		const lag = pg.psql(`SELECT
			percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms),
			max(ms), min(ms), extract(epoch FROM max(rel) - min(rel)) * 1000
			FROM (SELECT extract(epoch FROM r.released_at - t.begin_at) * 1000 AS ms, r.released_at AS rel
			FROM task_runs r JOIN send_tasks t ON t.id = r.task_id WHERE t.id BETWEEN ${lo} AND ${hi}) x`)
			.split('|').map(Number);
		const states = pg.psql(`SELECT status || '=' || count(*) FROM send_tasks WHERE id BETWEEN ${lo} AND ${hi}
			GROUP BY status ORDER BY 1`).split('\n').join(' ');
		const dl = Number(pg.psql(`SELECT count(*) FROM deliveries WHERE task_id BETWEEN ${lo} AND ${hi}`));
		const warn = sesd.log().split('\n').filter((l) => /WARN|ERROR/i.test(l) && /scheduler/.test(l));
		const mem = memOf(sesd.pid);
		return { ins, aheadS: Number(aheadS), loaded, done, runs, lag, states, dl, cpu, pgc, mem, warn, lo, hi };
	} finally {
		await sesd.stop();
	}
}

const kb = (x) => `${(x / 1024).toFixed(1)} MB`;
const s2 = (x) => `${x.toFixed(2)} s`;

async function main() {
	const tAll = Date.now();
	const pg = await stack.startPg(); /* fsync=off, synchronous_commit=off, full_page_writes=off */
	try {
		const { proto } = await setup(pg);
		const build = process.env.SESD_BUILD ? `${process.env.SESD_BUILD.replace(/.*\//, '')} (-O2, SESD_ASSERT=OFF)` : stack.SESD_BIN;
		console.log(`scheduler bench: ${os.cpus().length} CPUs (${os.cpus()[0].model.trim()}), load average ` +
			`${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at start; sesd ${build}`);
		console.log(`  config     : [smtp] workers=0 (releasing only, no dispatcher); [sesd] log_level=debug ` +
			`time_zone=${TZ}; [database] pool_size default; [scheduler] hour_seconds default`);
		console.log('  PostgreSQL : stack.startPg, fsync=off synchronous_commit=off full_page_writes=off');
		console.log(`  tasks      : task ${proto} created with BatchSendEmail (TaskType 2, list of 3, BeginTime 2 h ahead: ` +
			'never held); every bench task is an SQL copy of its send_tasks row (INSERT ... SELECT FROM ' +
			'generate_series; id and msgid_key from their defaults; begin_time, begin_at, next_run_at set), ' +
			'not a BatchSendEmail call');

		/* part 1 */
		const base = await holdRun(pg, { expect: 0 });
		const ins = copyTasks(pg, proto, HELD,
			`${SPREAD_FROM} + floor((g - 1)::float8 * ${SPREAD_TO - SPREAD_FROM} / ${HELD})`);
		const span = pg.psql(`SELECT extract(epoch FROM min(begin_at) - now())::int, extract(epoch FROM max(begin_at) - now())::int,
			count(*) FROM send_tasks WHERE id <> ${proto}`).split('|').map(Number);
		const load = await holdRun(pg, { expect: HELD });
		console.log(`1. holding ${HELD} pending timed tasks`);
		console.log(`  insert     : ${span[2]} copies in ${s2(ins.ms / 1000)} (+ ANALYZE), BeginTime ${span[0]}..${span[1]} s ahead ` +
			`(${(HELD / (SPREAD_TO - SPREAD_FROM)).toFixed(1)} per second)`);
		console.log(`  load time  : all ${HELD} held ${s2(load.heldAge)} after sesd's start (API ready at ${s2(load.readyAge)}); ` +
			`CPU by then: sesd ${load.cpuLoad.toFixed(2)} s, PostgreSQL ${load.pgLoad.toFixed(2)} s`);
		console.log(`  batches    : ${load.batches.map((b) => `+${b.n}${b.late ? ' (late)' : ''} -> ${b.held} at ${b.age.toFixed(2)} s`).join(', ')}`);
		const d = { rss: load.mem.rss - base.mem.rss, hwm: load.mem.hwm - base.mem.hwm, anon: load.mem.anon - base.mem.anon };
		const per = (x) => `${((x * 1024) / HELD).toFixed(0)} B/task`;
		console.log(`  memory     : read ${SETTLE_MS / 1000} s after the load (baseline: ${SETTLE_MS / 1000} s after API ready, at ` +
			`${s2(base.age)} / loaded run at ${s2(load.age)} of age)`);
		console.log(`               VmRSS  baseline ${kb(base.mem.rss)}, with ${HELD} held ${kb(load.mem.rss)}: +${kb(d.rss)} = ${per(d.rss)}`);
		console.log(`               VmHWM  baseline ${kb(base.mem.hwm)}, with ${HELD} held ${kb(load.mem.hwm)}: +${kb(d.hwm)} = ${per(d.hwm)}`);
		console.log(`               RssAnon baseline ${kb(base.mem.anon)}, with ${HELD} held ${kb(load.mem.anon)}: +${kb(d.anon)} = ${per(d.anon)}`);
		if (base.batches.length)
			console.log(`  NOTE       : the baseline run loaded tasks: ${JSON.stringify(base.batches)}`);

		/* part 2 */
		pg.psql(`DELETE FROM send_tasks WHERE id <> ${proto}`);
		pg.psql('VACUUM ANALYZE send_tasks');
		const b = await burstRun(pg, proto);
		console.log(`2. firing lag, ${BURST} tasks due in the same second`);
		console.log(`  setup      : part 1's copies deleted; ${BURST} copies (tasks ${b.lo}..${b.hi}) with one BeginTime, ` +
			`${b.aheadS.toFixed(1)} s ahead when inserted; sesd started after; ${b.loaded} held before BeginTime`);
		console.log(`  released   : ${b.done} of ${BURST} tasks have a run; tasks with 0 / 1 / >1 task_runs rows: ` +
			`${b.runs[0]} / ${b.runs[1]} / ${b.runs[2]}; task status ${b.states}; ${b.dl} deliveries materialised`);
		console.log(`  lag        : p50 ${b.lag[0].toFixed(0)} ms, p99 ${b.lag[1].toFixed(0)} ms, max ${b.lag[2].toFixed(0)} ms ` +
			`(min ${b.lag[3].toFixed(0)} ms; first to last release ${b.lag[4].toFixed(0)} ms, ` +
			`${(BURST / Math.max(b.lag[4] / 1000, 0.001)).toFixed(0)} releases/s)`);
		console.log(`  CPU        : sesd ${b.cpu.toFixed(2)} s, PostgreSQL ${b.pgc.toFixed(2)} s (its live processes: sesd's backends, not the bench's psql) ` +
			`from sesd's start to 1.5 s after the last release; sesd VmHWM ${kb(b.mem.hwm)}` +
			`${b.warn.length ? `; scheduler warnings: ${b.warn.length}, first: ${b.warn[0]}` : ''}`);
		console.log(`total wall time ${((Date.now() - tAll) / 1000).toFixed(0)} s; load average now ` +
			`${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
		if (b.runs[0] || b.runs[2] || b.runs[1] !== BURST)
			throw new Error(`FAIL: every task must have exactly one task_runs row: ${b.runs[0]} have none, ` +
				`${b.runs[2]} have more than one`);
		if (b.lag[3] < 0)
			throw new Error(`FAIL: a task was released ${-b.lag[3]} ms before its BeginTime`);
	} finally {
		await pg.stop();
	}
}

main().catch((e) => {
	console.error(e && e.stack ? e.stack : e);
	process.exitCode = 1;
});
