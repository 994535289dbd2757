#!/usr/bin/python3
"""Regenerates the DKIM vectors of cases.txt (run with Debian's python3).

    /usr/bin/python3 tests/vectors/dkim/make_vectors.py BUILD/tests/tools/dkim_sign_file

Signs each case with the given dkim_sign_file, has python3-dkim (dkimpy)
verify the signed message against the key's public half, and only then
writes NAME.sig. Exits 1 if any signature fails to verify.
"""
import base64
import os
import subprocess
import sys

import dkim

HERE = os.path.dirname(os.path.abspath(__file__))


def cases():
    with open(os.path.join(HERE, 'cases.txt')) as f:
        for line in f:
            if line.strip() and not line.startswith('#'):
                yield line.split()


def public_b64(key):
    der = subprocess.run(['openssl', 'pkey', '-in', key, '-pubout', '-outform', 'DER'],
                         check=True, capture_output=True).stdout
    return base64.b64encode(der)


def main():
    tool = sys.argv[1]
    bad = 0
    for name, msg, key, domain, selector, t, headers in cases():
        key = os.path.join(HERE, key)
        args = [tool, '-H']
        if t != '-':
            args += ['-t', t]
        if headers != '-':
            args += ['-l', headers]
        args += [key, domain, selector, os.path.join(HERE, msg)]
        sig = subprocess.run(args, check=True, capture_output=True).stdout
        message = open(os.path.join(HERE, msg), 'rb').read()
        txt = b'v=DKIM1; k=rsa; p=' + public_b64(key)
        want = ('%s._domainkey.%s.' % (selector, domain)).encode()

        def dnsfunc(qname, timeout=5):
            qname = qname if isinstance(qname, bytes) else qname.encode()
            return txt if qname.rstrip(b'.') == want.rstrip(b'.') else None

        ok = dkim.verify(sig + message, dnsfunc=dnsfunc)
        longest = max(len(line) for line in sig.split(b'\r\n'))
        print('%-14s %s  longest line %d' % (name, 'verified' if ok else 'FAILED', longest))
        if not ok:
            bad += 1
            continue
        with open(os.path.join(HERE, name + '.sig'), 'wb') as f:
            f.write(sig)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
