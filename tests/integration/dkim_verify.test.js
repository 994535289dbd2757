'use strict';
/*
 * DKIM signatures of daemon/dkim.c checked by an independent verifier, Debian's python3-dkim
 * (dkimpy), run as /usr/bin/python3 (the python3 first on PATH may be a pyenv one without
 * Debian's packages). tests/tools/dkim_sign_file signs; dkim.verify() must say True for every
 * vector of tests/vectors/dkim/cases.txt and for keys made here (1024 and 2048 bits), and False
 * after a one-byte body change or a change to a signed header. Relaxed canonicalization must
 * also let through what it is meant to: extra blanks and an unsigned header added in transit.
 * Needs no sesd and no database.
 */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = process.env.SESD_SOURCE_DIR || path.resolve(__dirname, '..', '..');
const VECTORS = path.join(REPO, 'tests', 'vectors', 'dkim');
const PYTHON = '/usr/bin/python3';
const SIGNER = process.env.SESD_DKIM_SIGN ||
	(process.env.SESD_BIN &&
		path.join(path.dirname(process.env.SESD_BIN), '..', 'tests', 'tools', 'dkim_sign_file'));

/* Reads JSON [{msg, txt}] (msg base64) on stdin, prints a JSON list of dkim.verify() results;
 * the DNS answer is txt for any name, and the names asked are printed too. */
const VERIFY_PY = `
import base64, json, sys
import dkim
out = []
for c in json.load(sys.stdin):
    asked = []
    def dnsfunc(name, timeout=5, txt=c['txt'].encode()):
        asked.append(name.decode() if isinstance(name, bytes) else name)
        return txt
    ok = dkim.verify(base64.b64decode(c['msg']), dnsfunc=dnsfunc)
    out.append({'ok': ok, 'asked': asked})
print(json.dumps(out))
`;

function verify(items) {
	const input = JSON.stringify(items.map((it) => ({
		msg: Buffer.from(it.msg).toString('base64'),
		txt: `v=DKIM1; k=rsa; p=${it.pub}`,
	})));
	const out = execFileSync(PYTHON, ['-c', VERIFY_PY], { input, maxBuffer: 64 << 20 });
	return JSON.parse(out.toString());
}

function publicB64(pem) {
	return crypto.createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
}

function cases() {
	return fs.readFileSync(path.join(VECTORS, 'cases.txt'), 'utf8').split('\n')
		.filter((l) => l.trim() && !l.startsWith('#'))
		.map((l) => {
			const [name, msg, key, domain, selector, t, headers] = l.trim().split(/\s+/);
			return { name, msg, key, domain, selector, t, headers };
		});
}

function sign(keyFile, domain, selector, msgFile, t, headers) {
	const args = [];
	if (t !== undefined && t !== '-')
		args.push('-t', String(t));
	if (headers && headers !== '-')
		args.push('-l', headers);
	args.push(keyFile, domain, selector, msgFile);
	return execFileSync(SIGNER, args, { maxBuffer: 64 << 20 });
}

/* Offset of the body: after the first empty line. */
function bodyStart(buf) {
	const i = buf.indexOf('\r\n\r\n');
	return i < 0 ? buf.length : i + 4;
}

/* One byte of the body changed (or one added to an empty body). */
function tamperBody(signed) {
	const b = Buffer.from(signed);
	const start = bodyStart(b);
	for (let i = start; i < b.length; i++) {
		if (/[A-Za-z0-9]/.test(String.fromCharCode(b[i]))) {
			b[i] = b[i] === 0x41 ? 0x42 : 0x41;
			return b;
		}
	}
	return Buffer.concat([b, Buffer.from('x\r\n')]);
}

/* The last byte of the (last) From field's value changed. */
function tamperFrom(signed) {
	const b = Buffer.from(signed);
	const head = b.subarray(0, bodyStart(b)).toString('latin1');
	const at = head.search(/\r\nFrom:[^\r]*\r\n/i);
	assert.ok(at >= 0, 'no From field');
	const end = head.indexOf('\r\n', at + 2) - 1;
	b[end] = b[end] === 0x3e ? 0x3c : 0x3e;
	return b;
}

/* Changes relaxed canonicalization ignores: blanks after the From colon, at the end of a body
 * line and in a blank run, empty lines at the end, an unsigned header on top. (Not blanks
 * before a colon: python3-dkim does not strip those from the name, RFC 6376 3.4.2 does.) */
function harmless(signed) {
	const s = Buffer.from(signed).toString('latin1');
	const start = bodyStart(Buffer.from(signed));
	const head = s.slice(0, start).replace(/\r\nFrom:/i, '\r\nFrom:  \t');
	const body = s.slice(start).replace(/\r\n/, ' \t \r\n').replace(/ /, '  \t');
	return Buffer.from(`X-Relayed-By: test\r\n${head}${body}\r\n\r\n`, 'latin1');
}

test('the signer and python3-dkim are available', () => {
	assert.ok(SIGNER && fs.existsSync(SIGNER),
		`dkim_sign_file not found (${SIGNER}); set SESD_DKIM_SIGN or SESD_BIN`);
	execFileSync(PYTHON, ['-c', 'import dkim'], { stdio: 'pipe' });
});

test('vectors: signatures equal the stored ones and verify', () => {
	const all = cases();
	assert.ok(all.length >= 10);
	const items = [];
	for (const c of all) {
		const pem = fs.readFileSync(path.join(VECTORS, c.key), 'utf8');
		const signed = sign(path.join(VECTORS, c.key), c.domain, c.selector,
			path.join(VECTORS, c.msg), c.t, c.headers);
		const want = fs.readFileSync(path.join(VECTORS, `${c.name}.sig`));
		assert.ok(signed.subarray(0, want.length).equals(want), `${c.name}: header differs`);
		assert.ok(signed.subarray(want.length).equals(fs.readFileSync(path.join(VECTORS, c.msg))));
		const pub = publicB64(pem);
		items.push({ name: c.name, want: true, msg: signed, pub, dns: `${c.selector}._domainkey.${c.domain}` });
		items.push({ name: `${c.name} body byte`, want: false, msg: tamperBody(signed), pub });
		items.push({ name: `${c.name} From byte`, want: false, msg: tamperFrom(signed), pub });
		items.push({ name: `${c.name} harmless`, want: true, msg: harmless(signed), pub });
	}
	const got = verify(items);
	items.forEach((it, i) => {
		assert.equal(got[i].ok, it.want, it.name);
		if (it.dns)
			assert.deepEqual(got[i].asked.map((n) => n.replace(/\.$/, '')), [it.dns], it.name);
	});
});

for (const bits of [1024, 2048]) {
	test(`fresh ${bits}-bit key, t= now`, () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesd-dkim-'));
		try {
			const { privateKey } = crypto.generateKeyPairSync('rsa', {
				modulusLength: bits,
				privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
				publicKeyEncoding: { type: 'spki', format: 'pem' },
			});
			const keyFile = path.join(dir, 'key.pem');
			fs.writeFileSync(keyFile, privateKey);
			const pub = publicB64(privateKey);
			const now = Math.floor(Date.now() / 1000);
			const items = [];
			for (const msg of ['simple.eml', 'utf8.eml', 'multipart.eml', 'folded.eml',
				'duplicate.eml', 'empty-body.eml']) {
				const signed = sign(keyFile, 'mail.example.org', `k${bits}`,
					path.join(VECTORS, msg), now);
				items.push({ name: msg, want: true, msg: signed });
				items.push({ name: `${msg} body byte`, want: false, msg: tamperBody(signed) });
				items.push({ name: `${msg} From byte`, want: false, msg: tamperFrom(signed) });
			}
			const got = verify(items.map((it) => ({ ...it, pub })));
			items.forEach((it, i) => assert.equal(got[i].ok, it.want, it.name));

			/* a signature made with another key does not verify */
			const other = crypto.generateKeyPairSync('rsa', { modulusLength: bits });
			const wrong = other.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
			assert.equal(verify([{ msg: items[0].msg, pub: wrong }])[0].ok, false);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
}
