'use strict';
/*
 * Checks tests/tools/tc3sign.js, the test suite's own TC3-HMAC-SHA256 signer, against the
 * recorded SDK requests in tests/vectors/tc3/ (and the same files in shared/vectors), and
 * checks that signedRequest() puts on the wire what it signed. Needs no sesd and no database.
 */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { sign, signedRequest, parseEndpoint, utcDate, sha256Hex } = require('../tools/tc3sign');

const REPO = process.env.SESD_SOURCE_DIR || path.resolve(__dirname, '..', '..');

function vectorFiles() {
	const dirs = [
		process.env.SESD_TC3_VECTORS,
		path.join(REPO, 'tests', 'vectors', 'tc3'),
		path.join(REPO, '..', 'shared', 'vectors'),
		'/work/shared/vectors',
	].filter(Boolean);
	for (const d of dirs) {
		let names;
		try {
			names = fs.readdirSync(d);
		} catch (e) {
			continue;
		}
		const files = names.filter((n) => /^tc3-.*\.json$/.test(n)).sort();
		if (files.length)
			return files.map((n) => path.join(d, n));
	}
	throw new Error(`no tc3-*.json vectors found in ${dirs.join(', ')}`);
}

function header(v, name) {
	const h = v.request.headers.find(([k]) => k.toLowerCase() === name.toLowerCase());
	return h ? h[1] : undefined;
}

const files = vectorFiles();

test('at least three TC3 vectors are present', () => {
	assert.ok(files.length >= 3, files.join(', '));
});

for (const file of files) {
	test(`vector ${path.basename(file)}`, () => {
		const v = JSON.parse(fs.readFileSync(file, 'utf8'));
		const exp = v.expected;
		const auth = header(v, 'Authorization');
		const ts = Number(header(v, 'X-TC-Timestamp'));
		assert.equal(ts, v.timestamp);
		assert.equal(utcDate(ts), exp.date);

		const ep = parseEndpoint(v.client_config.endpoint);
		const hostSent = header(v, 'Host');
		assert.equal(hostSent, ep.hostPort);

		const common = {
			secretId: v.credentials.secret_id,
			secretKey: v.credentials.secret_key,
			timestamp: ts,
			service: ep.host.split('.')[0],
			body: Buffer.from(v.request.body, 'utf8'),
			method: v.request.method,
			query: v.request.query,
		};
		assert.equal(common.service, exp.service, 'service = first DNS label of the endpoint');
		assert.equal(common.body.length, v.request.body_length_bytes);

		const s = sign({ ...common, headerValues: { 'content-type': header(v, 'Content-Type'), host: ep.host } });
		assert.equal(s.hashedPayload, v.request.body_sha256);
		assert.equal(s.credentialScope, exp.credential_scope);
		assert.equal(s.signedHeaders, exp.signed_headers);
		assert.equal(s.canonicalRequest, exp.canonical_request);
		assert.equal(s.stringToSign, exp.string_to_sign);
		assert.equal(s.signature, exp.signature);
		assert.equal(s.authorization, exp.authorization);
		assert.equal(s.authorization, auth, 'same Authorization header as the SDK sent');

		/* the Host header as sent (with :port) gives the documented wrong signature */
		const neg = sign({ ...common, headerValues: { 'content-type': header(v, 'Content-Type'), host: hostSent } });
		assert.equal(neg.signature, v.negative.signature);
		assert.notEqual(neg.signature, exp.signature);
	});
}

test('official example from the signature v3 document (ses-api.md 2.5)', () => {
	const s = sign({
		secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE',
		secretKey: 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE',
		timestamp: 1551113065,
		service: 'cvm',
		body: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
		headerValues: { 'content-type': 'application/json; charset=utf-8', host: 'cvm.tencentcloudapi.com' },
	});
	assert.equal(s.date, '2019-02-25');
	assert.equal(s.hashedPayload, '35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064');
	assert.equal(s.stringToSign.split('\n')[3], '5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031');
	assert.equal(s.signature, '72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168');
});

/* A loopback server that records what arrives. */
async function withRecorder(fn) {
	const seen = [];
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
			res.setHeader('Content-Type', 'application/json');
			res.end(JSON.stringify({ Response: { RequestId: 'r-' + seen.length } }));
		});
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	try {
		return await fn(`127.0.0.1:${server.address().port}`, seen);
	} finally {
		server.closeAllConnections();
		await new Promise((r) => server.close(r));
	}
}

test('signedRequest sends what it signed, and tampering options work', async () => {
	await withRecorder(async (endpoint, seen) => {
		const secretKey = 'k'.repeat(32);
		const body = '{"Limit":10,"Offset":0,"Name":"\u4e2d\u6587"}';
		const r = await signedRequest({ endpoint, secretId: 'AKIDx', secretKey, action: 'ListEmailTemplates',
			body, timestamp: 1795674354 });
		assert.equal(r.status, 200);
		assert.equal(r.json.Response.RequestId, 'r-1');
		const got = seen[0];
		assert.equal(got.method, 'POST');
		assert.equal(got.url, '/');
		assert.equal(got.headers.host, endpoint);
		assert.equal(got.headers['content-type'], 'application/json');
		assert.equal(got.headers['x-tc-action'], 'ListEmailTemplates');
		assert.equal(got.headers['x-tc-version'], '2020-10-02');
		assert.equal(got.headers['x-tc-region'], 'ap-guangzhou');
		assert.equal(got.headers['x-tc-timestamp'], '1795674354');
		assert.equal(got.body.toString('utf8'), body);
		/* a verifier that rebuilds the signature from what arrived agrees */
		const again = sign({ secretId: 'AKIDx', secretKey, timestamp: Number(got.headers['x-tc-timestamp']),
			service: '127', body: got.body,
			headerValues: { 'content-type': got.headers['content-type'], host: '127.0.0.1' } });
		assert.equal(got.headers.authorization, again.authorization);
		assert.match(got.headers.authorization,
			/^TC3-HMAC-SHA256 Credential=AKIDx\/2026-11-26\/127\/tc3_request, SignedHeaders=content-type;host, Signature=[0-9a-f]{64}$/);

		/* tampered body and timestamp: sent differ from signed */
		await signedRequest({ endpoint, secretId: 'AKIDx', secretKey, action: 'X', body: '{"a":1}',
			sendBody: '{"a":2}', timestamp: 1000, sendTimestamp: 2000, region: null,
			extraHeaders: { 'X-TC-Language': 'en-US' } });
		assert.equal(seen[1].body.toString(), '{"a":2}');
		assert.equal(seen[1].headers['x-tc-timestamp'], '2000');
		assert.equal(seen[1].headers['x-tc-region'], undefined);
		assert.equal(seen[1].headers['x-tc-language'], 'en-US');
		assert.match(seen[1].headers.authorization, /Credential=AKIDx\/1970-01-01\/127\/tc3_request/);

		/* extra signed header, custom authorization, unsigned payload */
		const r3 = await signedRequest({ endpoint, secretId: 'AKIDx', secretKey, action: 'X',
			signedHeaderNames: ['content-type', 'host', 'x-tc-action'], unsignedPayload: true });
		assert.match(seen[2].headers.authorization, /SignedHeaders=content-type;host;x-tc-action,/);
		assert.match(r3.signed.canonicalRequest, /\nx-tc-action:x\n/);
		assert.ok(r3.signed.canonicalRequest.endsWith('\n' + sha256Hex('UNSIGNED-PAYLOAD')));
		assert.equal(seen[2].headers['x-tc-content-sha256'], 'UNSIGNED-PAYLOAD');
		await signedRequest({ endpoint, secretId: 'AKIDx', secretKey, action: 'X', authorization: null });
		assert.equal(seen[3].headers.authorization, undefined);
	});
});

test('the SDK and tc3sign agree on a live request', async () => {
	let ses;
	try {
		ses = require('tencentcloud-sdk-nodejs-ses');
	} catch (e) {
		throw new Error('tencentcloud-sdk-nodejs-ses is not installed: run `make deps` (npm ci in tests/integration)');
	}
	await withRecorder(async (endpoint, seen) => {
		const secretKey = 'DummySecretKeyForTestVectorsOnly0000';
		const client = new ses.ses.v20201002.Client({
			credential: { secretId: 'AKIDEXAMPLE', secretKey },
			region: 'ap-guangzhou',
			profile: { httpProfile: { endpoint, protocol: 'http://', reqTimeout: 30 }, language: 'en-US' },
		});
		const resp = await client.ListEmailTemplates({ Limit: 10, Offset: 0 });
		assert.equal(resp.RequestId, 'r-1');
		const got = seen[0];
		const ts = Number(got.headers['x-tc-timestamp']);
		const mine = sign({ secretId: 'AKIDEXAMPLE', secretKey, timestamp: ts, service: '127', body: got.body,
			headerValues: { 'content-type': got.headers['content-type'], host: '127.0.0.1' } });
		assert.equal(got.headers.authorization, mine.authorization);
	});
});
