#!/usr/bin/env python3
# scripts/compare-outputs.py BEFORE AFTER: compares two folders written by scripts/same-outputs.sh,
# every file byte for byte, except the LibTorch optimizer archive inside training_state.safetensors:
# LibTorch keys its entries by tensor addresses, so they differ between two runs of the same binary,
# and there the multiset of stored tensors must be equal. Exits 1 when anything differs.
import hashlib, io, json, os, struct, sys, zipfile
def st(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n]); d = b[8+n:]
    meta = h.pop('__metadata__', {})
    return meta, {k: d[v['data_offsets'][0]:v['data_offsets'][1]] for k, v in h.items()}
def blobs(archive):
    z = zipfile.ZipFile(io.BytesIO(archive))
    return sorted(hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist() if '/data/' in n)
a, b = sys.argv[1], sys.argv[2]
files = lambda r: {os.path.relpath(os.path.join(d, f), r) for d, _, fs in os.walk(r) for f in fs}
fa, fb = files(a), files(b)
bad = 0
for f in sorted(fa ^ fb): print('only in one:', f); bad += 1
for f in sorted(fa & fb):
    x, y = open(os.path.join(a, f), 'rb').read(), open(os.path.join(b, f), 'rb').read()
    if x == y: continue
    if f.endswith('training_state.safetensors'):
        (ma, ta), (mb, tb) = st(os.path.join(a, f)), st(os.path.join(b, f))
        same = ma == mb and ta.keys() == tb.keys() and all(ta[k] == tb[k] for k in ta if k != 'optimizer') \
               and blobs(ta['optimizer']) == blobs(tb['optimizer'])
        if same: continue
    print('differs:', f); bad += 1
print(f'{len(fa & fb)} files compared, {bad} differ')
sys.exit(1 if bad else 0)
