"""An independent pprof (perftools.profiles) codec for the tests: the message classes are built at
run time from a descriptor written here from proto/profile.proto's field numbers, and encoded and
decoded by the protobuf runtime from PyPI, sharing nothing with the C side (protobuf-c)."""
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_MESSAGES = {
    "ValueType": [("type", 1, _F.TYPE_INT64, False, None), ("unit", 2, _F.TYPE_INT64, False, None)],
    "Label": [("key", 1, _F.TYPE_INT64, False, None), ("str", 2, _F.TYPE_INT64, False, None),
              ("num", 3, _F.TYPE_INT64, False, None), ("num_unit", 4, _F.TYPE_INT64, False, None)],
    "Sample": [("location_id", 1, _F.TYPE_UINT64, True, None),
               ("value", 2, _F.TYPE_INT64, True, None),
               ("label", 3, _F.TYPE_MESSAGE, True, "Label")],
    "Mapping": [("id", 1, _F.TYPE_UINT64, False, None),
                ("memory_start", 2, _F.TYPE_UINT64, False, None),
                ("memory_limit", 3, _F.TYPE_UINT64, False, None),
                ("file_offset", 4, _F.TYPE_UINT64, False, None),
                ("filename", 5, _F.TYPE_INT64, False, None),
                ("build_id", 6, _F.TYPE_INT64, False, None)],
    "Line": [("function_id", 1, _F.TYPE_UINT64, False, None),
             ("line", 2, _F.TYPE_INT64, False, None)],
    "Location": [("id", 1, _F.TYPE_UINT64, False, None),
                 ("mapping_id", 2, _F.TYPE_UINT64, False, None),
                 ("address", 3, _F.TYPE_UINT64, False, None),
                 ("line", 4, _F.TYPE_MESSAGE, True, "Line"),
                 ("is_folded", 5, _F.TYPE_BOOL, False, None)],
    "Function": [("id", 1, _F.TYPE_UINT64, False, None), ("name", 2, _F.TYPE_INT64, False, None),
                 ("system_name", 3, _F.TYPE_INT64, False, None),
                 ("filename", 4, _F.TYPE_INT64, False, None),
                 ("start_line", 5, _F.TYPE_INT64, False, None)],
    "Profile": [("sample_type", 1, _F.TYPE_MESSAGE, True, "ValueType"),
                ("sample", 2, _F.TYPE_MESSAGE, True, "Sample"),
                ("mapping", 3, _F.TYPE_MESSAGE, True, "Mapping"),
                ("location", 4, _F.TYPE_MESSAGE, True, "Location"),
                ("function", 5, _F.TYPE_MESSAGE, True, "Function"),
                ("string_table", 6, _F.TYPE_STRING, True, None),
                ("drop_frames", 7, _F.TYPE_INT64, False, None),
                ("keep_frames", 8, _F.TYPE_INT64, False, None),
                ("time_nanos", 9, _F.TYPE_INT64, False, None),
                ("duration_nanos", 10, _F.TYPE_INT64, False, None),
                ("period_type", 11, _F.TYPE_MESSAGE, False, "ValueType"),
                ("period", 12, _F.TYPE_INT64, False, None),
                ("comment", 13, _F.TYPE_INT64, True, None),
                ("default_sample_type", 14, _F.TYPE_INT64, False, None)],
}


def _build():
    fdp = descriptor_pb2.FileDescriptorProto(name="podprof_test_profile.proto",
                                             package="perftools.profiles", syntax="proto3")
    for name, fields in _MESSAGES.items():
        msg = fdp.message_type.add(name=name)
        for fname, num, ftype, repeated, type_name in fields:
            f = msg.field.add(name=fname, number=num, type=ftype,
                              label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
            if type_name:
                f.type_name = ".perftools.profiles." + type_name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("perftools.profiles.Profile"))


Profile = _build()


def decode(raw: bytes):
    p = Profile()
    p.ParseFromString(raw)
    return p


def make_profile(stacks, time_nanos=1_700_000_000_000_000_000, duration_nanos=60_000_000_000):
    """stacks: list of (frames leaf first [(function, file, line)], cpu_ns, wall_ns)."""
    strings = [""]
    index = {"": 0}

    def s(text):
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return index[text]

    p = Profile()
    for t, u in (("cpu-time", "nanoseconds"), ("cpu-samples", "count"),
                 ("wall-time", "nanoseconds"), ("wall-samples", "count")):
        p.sample_type.add(type=s(t), unit=s(u))
    funcs, locs = {}, {}
    for frames, cpu, wall in stacks:
        ids = []
        for name, filename, line in frames:
            fid = funcs.get((name, filename))
            if fid is None:
                fid = funcs[(name, filename)] = len(funcs) + 1
                p.function.add(id=fid, name=s(name), system_name=s(name), filename=s(filename))
            lid = locs.get((fid, line))
            if lid is None:
                lid = locs[(fid, line)] = len(locs) + 1
                p.location.add(id=lid).line.add(function_id=fid, line=line)
            ids.append(lid)
        sample = p.sample.add(location_id=ids, value=[cpu, 1, wall, 1])
        sample.label.add(key=s("thread name"), str=s("MainThread"))
    p.period_type.type = s("cpu-time")
    p.period_type.unit = s("nanoseconds")
    p.period = 10_000_000
    p.time_nanos = time_nanos
    p.duration_nanos = duration_nanos
    p.string_table.extend(strings)
    return p
