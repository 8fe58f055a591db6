"""Fills attributes that a TF.js graph model omits but TensorFlow's op registry requires (defaults, TArgs of fused ops).

Usage: fill_tfjs_attrs.py SRC.json DST.json (the weights .bin must sit beside DST.json)."""
import json, sys
from tensorflow.python.framework import op_def_registry
from google.protobuf.json_format import MessageToDict
src, dst = sys.argv[1], sys.argv[2]
m = json.load(open(src))
added = 0
for n in m['modelTopology']['node']:
    a = n.setdefault('attr', {})
    if n['op'] in ('_FusedConv2D', 'FusedDepthwiseConv2dNative', '_FusedMatMul') and 'TArgs' not in a:
        a['TArgs'] = {'list': {'type': ['DT_FLOAT'] * int(a.get('num_args', {}).get('i', '0'))}}
        added += 1
    od = op_def_registry.get(n['op'])
    if od is None:
        continue
    for at in od.attr:
        if at.name not in a and at.HasField('default_value'):
            a[at.name] = MessageToDict(at.default_value)
            added += 1
json.dump(m, open(dst, 'w'))
print(f"filled {added} missing attributes", file=sys.stderr)
