'use strict';
/*
 * tests/bench/api.js (run through api.sh): two ratios from one run on this
 * machine, so that a shared, noisy machine cancels out.
 *  1. signed ListEmailTemplates requests/s through sesd (TC3 check, JSON,
 *     one PostgreSQL query) against a static evhttp reply of the same bytes;
 *     both driven by wrk with the same connections and duration. The request
 *     is signed once and replayed (TC3 has no nonce; it stays valid 5 min).
 *  2. rows/s of CreateReceiverDetailWithData, 20,000 rows per call, against
 *     psql's \copy of the same rows into the same table. Both clock from
 *     "rows serialised, ready to send" to "stored": the COPY file is written
 *     before its clock starts, and the API body is serialised before its
 *     clock starts and sent with the independent signer (signing and HTTP
 *     are inside the clock; the SDK's own JSON building is not).
 */
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync, execFileSync } = require('child_process');
const stack = require('../integration/lib/stack');
const { sign, signedRequest } = require('../tools/tc3sign');

const ROOT = path.resolve(__dirname, '../..');
const BUILD = process.env.SESD_BUILD || path.join(ROOT, 'build');
const DURATION = process.env.BENCH_SECONDS || '10';
const CONNS = process.env.BENCH_CONNS || '32';
const CALLS = Number(process.env.BENCH_ROW_CALLS || 5);
const ROWS = 20000;

function wrk(port, luaFile) {
	const out = execFileSync('wrk', ['-t1', `-c${CONNS}`, `-d${DURATION}s`, '-s', luaFile,
		`http://127.0.0.1:${port}/`], { encoding: 'utf8' });
	const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
	const errs = /Non-2xx or 3xx responses: (\d+)/.exec(out);
	if (!m)
		throw new Error(`wrk output without Requests/sec:\n${out}`);
	return { rps: Number(m[1]), non2xx: errs ? Number(errs[1]) : 0, raw: out };
}

/* CPU seconds used so far by sesd and by every process of the cluster. */
function cpuTimes(sesdPid, pg) {
	const tick = 100;
	const read = (pid) => {
		try {
			const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
			const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
			return (Number(rest[11]) + Number(rest[12])) / tick;
		} catch {
			return 0;
		}
	};
	const pgPid = Number(fs.readFileSync(path.join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
	let pgcpu = read(pgPid);
	for (const d of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(d))
			continue;
		try {
			const f = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
			const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
			if (Number(rest[1]) === pgPid)
				pgcpu += read(d);
		} catch {
			/* gone */
		}
	}
	return { sesd: read(sesdPid), pg: pgcpu };
}

function luaFor(endpoint, account, action, body) {
	const ts = Math.floor(Date.now() / 1000);
	const host = endpoint.split(':')[0];
	const s = sign({
		secretId: account.secretId, secretKey: account.secretKey, timestamp: ts,
		service: host.split('.')[0], body,
		headerValues: { 'content-type': 'application/json', host },
	});
	const headers = {
		'Content-Type': 'application/json', 'X-TC-Action': action, 'X-TC-Version': '2020-10-02',
		'X-TC-Region': 'ap-guangzhou', 'X-TC-Timestamp': String(ts), Authorization: s.authorization,
		Host: endpoint,
	};
	let lua = `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\n`;
	for (const [k, v] of Object.entries(headers))
		lua += `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}\n`;
	/* count replies that are errors inside the envelope */
	lua += 'local errors = 0\nfunction response(status, headers, body)\n' +
		'  if string.find(body, \'"Error"\', 1, true) then errors = errors + 1 end\nend\n' +
		'function done(summary, latency, requests)\n' +
		'  io.write(string.format("envelope errors: %d\\n", errors))\nend\n';
	return lua;
}

async function main() {
	const pg = await stack.startPg();
	const sesd = await stack.startSesd({
		pg,
		conf: {
			api: { rate_limit: 0 },
			database: { pool_size: Number(process.env.BENCH_POOL || 4) },
			limits: { receivers_per_list: 10000000, templates: 100000 },
			sesd: { log_level: 'warning' },
		},
	});
	const work = fs.mkdtempSync('/tmp/sesd-bench-');
	const staticProc = [];
	try {
		const c = stack.sdkClient(sesd, 0);
		for (let i = 0; i < 20; i++) {
			await c.CreateEmailTemplate({
				TemplateName: `bench template ${i}`,
				TemplateContent: { Html: Buffer.from(`<p>Hello {{name}} ${i}</p>`).toString('base64') },
			});
		}
		const body = '{"Limit":10,"Offset":0}';
		const lua = path.join(work, 'list.lua');
		fs.writeFileSync(lua, luaFor(sesd.endpoint, sesd.accounts[0], 'ListEmailTemplates', body));

		/* the baseline answers the bytes sesd answers */
		const sample = execFileSync('curl', ['-s', '-X', 'POST', '--data-binary', body,
			...['Content-Type: application/json', 'X-TC-Action: ListEmailTemplates', 'X-TC-Version: 2020-10-02',
				'X-TC-Region: ap-guangzhou',
				`X-TC-Timestamp: ${/X-TC-Timestamp"\] = "(\d+)"/.exec(fs.readFileSync(lua, 'utf8'))[1]}`,
				`Authorization: ${/Authorization"\] = "([^"]+)"/.exec(fs.readFileSync(lua, 'utf8'))[1]}`,
			].flatMap((h) => ['-H', h]), `http://${sesd.endpoint}/`], { encoding: 'utf8' });
		const parsed = JSON.parse(sample);
		if (!parsed.Response || parsed.Response.TotalCount !== 20)
			throw new Error(`unexpected ListEmailTemplates reply: ${sample}`);
		fs.writeFileSync(path.join(work, 'reply.json'), sample);
		const sport = await stack.freePort();
		const sp = spawn(path.join(BUILD, 'tests/bench/static_evhttp'), [String(sport), path.join(work, 'reply.json')],
			{ stdio: 'ignore' });
		staticProc.push(sp);
		await stack.waitForPort(sport, { what: 'static_evhttp' });

		const sesdPort = Number(sesd.endpoint.split(':')[1]);
		const base = wrk(sport, lua);
		const cpu0 = cpuTimes(sesd.pid, pg);
		/* BENCH_PERF=FILE: a perf profile of sesd during its run (perf report -i FILE) */
		const perf = process.env.BENCH_PERF ? spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '2999', '-g',
			'-p', String(sesd.pid), '-o', process.env.BENCH_PERF, '--', 'sleep', String(Math.max(1, DURATION - 2))],
		{ stdio: 'ignore' }) : null;
		const real = wrk(sesdPort, lua);
		if (perf)
			await new Promise((resolve) => (perf.exitCode !== null ? resolve() : perf.on('exit', resolve)));
		const cpu1 = cpuTimes(sesd.pid, pg);
		const envErrors = /envelope errors: (\d+)/.exec(real.raw);
		console.log(`ListEmailTemplates (signed, ${CONNS} connections, ${DURATION} s each, wrk -t1):`);
		console.log(`  static evhttp reply : ${base.rps.toFixed(0)} req/s`);
		console.log(`  sesd                : ${real.rps.toFixed(0)} req/s (error replies: ${envErrors ? envErrors[1] : '?'})`);
		console.log(`  ratio               : ${(real.rps / base.rps).toFixed(2)} (target >= 0.5)`);
		const reqs = real.rps * Number(DURATION);
		console.log(`  CPU per request     : sesd ${((cpu1.sesd - cpu0.sesd) / reqs * 1e6).toFixed(0)} us, ` +
			`postgres ${((cpu1.pg - cpu0.pg) / reqs * 1e6).toFixed(0)} us`);

		/* 2. recipient rows */
		const rows = [];
		for (let i = 0; i < ROWS; i++)
			rows.push({ Email: `user${i}@example.com`, TemplateData: JSON.stringify({ name: `User ${i}`, code: String(100000 + i) }) });
		let apiMs = 0;
		const acct = sesd.accounts[0];
		for (let k = 0; k < CALLS; k++) {
			const { ReceiverId } = await c.CreateReceiver({ ReceiversName: `bench list ${k}`, Desc: 'bench' });
			const body = JSON.stringify({ ReceiverId, Datas: rows });
			const t0 = process.hrtime.bigint();
			const r = await signedRequest({ endpoint: sesd.endpoint, secretId: acct.secretId,
				secretKey: acct.secretKey, action: 'CreateReceiverDetailWithData', body, timeoutMs: 120000 });
			apiMs += Number(process.hrtime.bigint() - t0) / 1e6;
			if (!r.json || !r.json.Response || r.json.Response.ValidCount !== ROWS)
				throw new Error(`CreateReceiverDetailWithData: ${r.body.slice(0, 300)}`);
		}
		const copyFile = path.join(work, 'rows.tsv');
		const esc = (s) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
		let copyMs = 0;
		for (let k = 0; k < CALLS; k++) {
			const id = pg.psql(`INSERT INTO receivers (app_id, name, status) VALUES (${sesd.accounts[0].appId}, 'copy ${k}', 3) RETURNING id`, 'sesd').trim().split('\n')[0];
			fs.writeFileSync(copyFile, rows.map((r) => `${id}\t${esc(r.Email)}\t${esc(r.TemplateData)}`).join('\n') + '\n');
			fs.chmodSync(work, 0o755);
			fs.chmodSync(copyFile, 0o644);
			const t0 = process.hrtime.bigint();
			pg.psql(`\\copy receiver_details (receiver_id, email, template_data) FROM '${copyFile}'`, 'sesd');
			copyMs += Number(process.hrtime.bigint() - t0) / 1e6;
		}
		const n = ROWS * CALLS;
		const apiRate = n / (apiMs / 1000), copyRate = n / (copyMs / 1000);
		console.log(`CreateReceiverDetailWithData (${CALLS} calls x ${ROWS} rows, signed POST of a ready body):`);
		console.log(`  psql \\copy          : ${copyRate.toFixed(0)} rows/s`);
		console.log(`  sesd                : ${apiRate.toFixed(0)} rows/s`);
		console.log(`  ratio               : ${(apiRate / copyRate).toFixed(2)} (target >= 0.5)`);
	} finally {
		for (const p of staticProc)
			p.kill('SIGTERM');
		await sesd.stop();
		await pg.stop();
		fs.rmSync(work, { recursive: true, force: true });
	}
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
