'use strict';
/*
 * tc3sign.js: an independent TC3-HMAC-SHA256 signer and raw HTTP client for
 * sesd's tests. Node's crypto and http only: it shares no code with the
 * Tencent Cloud SDK's signer nor with daemon/tc3.c, so a bug in either one
 * cannot hide itself. Every input can be overridden, so a test can sign one
 * thing and send another (tampered body, other timestamp, extra headers...).
 *
 *   const { signedRequest, sign } = require('../tools/tc3sign');
 *   const r = await signedRequest({ endpoint: '127.0.0.1:9380', secretId, secretKey,
 *                                   action: 'ListEmailTemplates', body: '{"Limit":10,"Offset":0}' });
 *   r.status, r.headers, r.json (parsed body or null), r.body (raw text)
 *
 * Algorithm (Tencent Cloud API 3.0, "signature v3"):
 *   CanonicalRequest = Method \n / \n Query \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
 *   StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/Service/tc3_request \n hex(sha256(CanonicalRequest))
 *   key = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), Service), "tc3_request")
 *   Signature = hex(HMAC(key, StringToSign)), Date = UTC date of Timestamp
 */
const crypto = require('node:crypto');
const http = require('node:http');

const ALGORITHM = 'TC3-HMAC-SHA256';

function sha256Hex(data) {
	return crypto.createHash('sha256').update(data).digest('hex');
}

function hmac(key, msg) {
	return crypto.createHmac('sha256', key).update(msg, 'utf8').digest();
}

/* "host:port", "http://host:port/" or "[::1]:port" -> { host, port } */
function parseEndpoint(endpoint) {
	let s = String(endpoint).replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
	let host = s;
	let port = null;
	const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(s);
	if (m) {
		host = m[1];
		port = m[2] ? Number(m[2]) : null;
	}
	return { host, port, hostPort: s };
}

function utcDate(timestamp) {
	return new Date(Number(timestamp) * 1000).toISOString().slice(0, 10);
}

function toBuffer(body) {
	if (body === undefined || body === null)
		return Buffer.from('{}');
	if (Buffer.isBuffer(body))
		return body;
	if (typeof body === 'string')
		return Buffer.from(body, 'utf8');
	return Buffer.from(JSON.stringify(body), 'utf8');
}

/*
 * Pure signing, no I/O. Options:
 *   secretId, secretKey, timestamp (seconds), service, body (string|Buffer|object),
 *   method ('POST'), query (''), path ('/'), signedHeaderNames (['content-type', 'host']),
 *   headerValues ({ 'content-type': ..., host: ... } lower-case names -> value used in the
 *   canonical headers), unsignedPayload (hash the literal "UNSIGNED-PAYLOAD" instead of the body),
 *   date (credential date, default UTC date of timestamp), algorithm,
 *   lowercaseValues (default true: header values are lower-cased, as documented).
 * Returns { authorization, signature, canonicalRequest, stringToSign, credentialScope,
 *           signedHeaders, hashedPayload, date }.
 */
function sign(o) {
	const timestamp = String(o.timestamp);
	const date = o.date || utcDate(timestamp);
	const service = o.service;
	const method = (o.method || 'POST').toUpperCase();
	const names = (o.signedHeaderNames || ['content-type', 'host']).map((n) => n.toLowerCase());
	const values = {};
	for (const [k, v] of Object.entries(o.headerValues || {}))
		values[k.toLowerCase()] = v;
	let canonicalHeaders = '';
	for (const n of names) {
		if (!(n in values))
			throw new Error(`tc3sign: no value for signed header ${n}`);
		/* the published algorithm lower-cases and trims names and values */
		let v = String(values[n]).trim();
		if (o.lowercaseValues !== false)
			v = v.toLowerCase();
		canonicalHeaders += `${n}:${v}\n`;
	}
	const signedHeaders = names.join(';');
	/* ses-api.md 2.2 step 6: the hash of the literal, as the Go/Java/Python SDKs do */
	const hashedPayload = sha256Hex(o.unsignedPayload ? 'UNSIGNED-PAYLOAD' : toBuffer(o.body));
	const canonicalRequest = [method, o.path || '/', o.query || '', canonicalHeaders, signedHeaders,
		hashedPayload].join('\n');
	const credentialScope = `${date}/${service}/tc3_request`;
	const stringToSign = [o.algorithm || ALGORITHM, timestamp, credentialScope,
		sha256Hex(canonicalRequest)].join('\n');
	const kDate = hmac('TC3' + o.secretKey, date);
	const kService = hmac(kDate, service);
	const kSigning = hmac(kService, 'tc3_request');
	const signature = crypto.createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
	const authorization = `${o.algorithm || ALGORITHM} Credential=${o.secretId}/${credentialScope}, ` +
		`SignedHeaders=${signedHeaders}, Signature=${signature}`;
	return { authorization, signature, canonicalRequest, stringToSign, credentialScope, signedHeaders,
		hashedPayload, date };
}

/*
 * Signs and sends one raw HTTP request. Options (all but endpoint/secretId/secretKey/action
 * optional):
 *   endpoint        "host:port" of sesd
 *   secretId, secretKey
 *   action          X-TC-Action
 *   body            string | Buffer | object (JSON-encoded); default "{}" ("" for GET)
 *   timestamp       seconds, signed (default now)
 *   sendTimestamp   X-TC-Timestamp actually sent (default: timestamp)
 *   sendBody        body actually sent (default: body) - e.g. one byte changed after signing
 *   service         credential-scope service (default: first DNS label of the endpoint host)
 *   region          X-TC-Region (default "ap-guangzhou"; null = header left out)
 *   version         X-TC-Version (default "2020-10-02"; null = left out)
 *   language        X-TC-Language (default: not sent)
 *   contentType     Content-Type sent and signed (default "application/json")
 *   signedHost      host value in the canonical headers (default: endpoint host without port)
 *   hostHeader      Host header sent (default: endpoint "host:port")
 *   signedHeaderNames  default ["content-type", "host"]
 *   extraHeaders    headers sent (and usable as signed headers); a null value removes a header
 *   unsignedPayload sign "UNSIGNED-PAYLOAD" instead of the body hash (and send
 *                   X-TC-Content-SHA256: UNSIGNED-PAYLOAD)
 *   method, query, path   default "POST", "", "/"
 *   authorization   Authorization header sent instead of the computed one (null = none)
 *   date            credential date instead of the UTC date of timestamp
 *   lowercaseValues false = keep the case of canonical header values
 *   timeoutMs       default 30000
 * Returns { status, headers, body, json, signed } where signed is sign()'s result.
 */
function signedRequest(o) {
	const ep = parseEndpoint(o.endpoint);
	const timestamp = o.timestamp !== undefined ? o.timestamp : Math.floor(Date.now() / 1000);
	const method = (o.method || 'POST').toUpperCase();
	const contentType = o.contentType !== undefined ? o.contentType : 'application/json';
	const body = o.body === undefined && method === 'GET' ? Buffer.alloc(0) : toBuffer(o.body);
	const sendBody = o.sendBody !== undefined ? toBuffer(o.sendBody) : body;
	const signedHost = o.signedHost !== undefined ? o.signedHost : ep.host;
	const service = o.service !== undefined ? o.service : ep.host.replace(/^\[|\]$/g, '').split('.')[0];

	/* headers sent, by lower-case name -> [Name, value] */
	const headers = new Map();
	const set = (name, value) => {
		if (value === null || value === undefined)
			headers.delete(name.toLowerCase());
		else
			headers.set(name.toLowerCase(), [name, String(value)]);
	};
	set('Host', o.hostHeader !== undefined ? o.hostHeader : ep.hostPort);
	set('Content-Type', contentType);
	set('X-TC-Action', o.action);
	set('X-TC-Timestamp', o.sendTimestamp !== undefined ? o.sendTimestamp : timestamp);
	set('X-TC-Version', o.version !== undefined ? o.version : '2020-10-02');
	set('X-TC-Region', o.region !== undefined ? o.region : 'ap-guangzhou');
	if (o.language)
		set('X-TC-Language', o.language);
	if (o.unsignedPayload)
		set('X-TC-Content-SHA256', 'UNSIGNED-PAYLOAD');
	set('Content-Length', sendBody.length);
	for (const [k, v] of Object.entries(o.extraHeaders || {}))
		set(k, v);

	const headerValues = { 'content-type': contentType, host: signedHost };
	for (const [k, [, v]] of headers)
		if (k !== 'content-type' && k !== 'host')
			headerValues[k] = v;
	for (const [k, v] of Object.entries(o.extraHeaders || {}))
		if (v !== null && v !== undefined)
			headerValues[k.toLowerCase()] = v;

	const signed = sign({
		secretId: o.secretId,
		secretKey: o.secretKey,
		timestamp,
		date: o.date,
		service,
		body,
		method,
		query: o.query,
		path: o.path,
		signedHeaderNames: o.signedHeaderNames,
		headerValues,
		unsignedPayload: o.unsignedPayload,
		lowercaseValues: o.lowercaseValues,
	});
	if (o.authorization === undefined)
		set('Authorization', signed.authorization);
	else
		set('Authorization', o.authorization);

	const rawHeaders = [];
	for (const [, [name, value]] of headers)
		rawHeaders.push(name, value);
	const path = (o.path || '/') + (o.query ? '?' + o.query : '');

	return new Promise((resolve, reject) => {
		const req = http.request({
			host: ep.host.replace(/^\[|\]$/g, ''),
			port: ep.port || 80,
			method,
			path,
			headers: rawHeaders,
			agent: false,
			setHost: false,
		}, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('error', reject);
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				let json = null;
				try {
					json = JSON.parse(text);
				} catch (e) {
					json = null;
				}
				resolve({ status: res.statusCode, headers: res.headers, body: text, json, signed });
			});
		});
		req.setTimeout(o.timeoutMs || 30000, () => req.destroy(new Error('tc3sign: request timed out')));
		req.on('error', reject);
		req.end(method === 'GET' && sendBody.length === 0 ? undefined : sendBody);
	});
}

module.exports = { sign, signedRequest, parseEndpoint, sha256Hex, utcDate };
