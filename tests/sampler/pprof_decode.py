"""An independent pprof decoder: reads the protobuf wire format directly (no generated code, no
shared code with the C writer) into plain Python structures."""
import gzip


def _varint(buf, pos):
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def _fields(buf):
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        else:
            raise ValueError("bad wire type %d" % wire)
        yield num, wire, value


def _ints(wire, value, signed=False):
    if wire == 0:
        vals = [value]
    else:
        vals, pos = [], 0
        while pos < len(value):
            v, pos = _varint(value, pos)
            vals.append(v)
    if signed:
        vals = [v - (1 << 64) if v >= 1 << 63 else v for v in vals]
    return vals


def _msg(buf):
    out = {}
    for num, wire, value in _fields(buf):
        out.setdefault(num, []).append((wire, value))
    return out


def decode(path):
    """Returns {'types': [(type, unit)], 'samples': [{'values', 'frames', 'labels'}], ...}.
    frames are (function name, filename, line), leaf first."""
    raw = gzip.decompress(open(path, "rb").read())
    top = _msg(raw)
    strings = [v.decode("utf-8") for _, v in top.get(6, [])]
    functions, locations = {}, {}
    for _, v in top.get(5, []):
        f = _msg(v)
        fid = f[1][0][1]
        functions[fid] = (strings[f.get(2, [(0, 0)])[0][1]], strings[f.get(4, [(0, 0)])[0][1]])
    for _, v in top.get(4, []):
        loc = _msg(v)
        lines = []
        for _, lv in loc.get(4, []):
            ln = _msg(lv)
            lines.append((ln[1][0][1], ln.get(2, [(0, 0)])[0][1]))
        locations[loc[1][0][1]] = lines
    types = []
    for _, v in top.get(1, []):
        vt = _msg(v)
        types.append((strings[vt[1][0][1]], strings[vt[2][0][1]]))
    samples = []
    for _, v in top.get(2, []):
        s = _msg(v)
        loc_ids = [i for w, val in s.get(1, []) for i in _ints(w, val)]
        values = [i for w, val in s.get(2, []) for i in _ints(w, val, signed=True)]
        labels = {}
        for _, lv in s.get(3, []):
            lab = _msg(lv)
            key = strings[lab[1][0][1]]
            labels[key] = strings[lab[2][0][1]] if 2 in lab else lab.get(3, [(0, 0)])[0][1]
        frames = []
        for lid in loc_ids:
            for fid, line in locations[lid]:
                name, filename = functions[fid]
                frames.append((name, filename, line))
        samples.append({"values": dict(zip([t for t, _ in types], values)), "frames": frames,
                        "labels": labels})
    return {"types": types, "samples": samples,
            "period": top.get(12, [(0, 0)])[0][1],
            "time_nanos": top.get(9, [(0, 0)])[0][1],
            "duration_nanos": top.get(10, [(0, 0)])[0][1]}
