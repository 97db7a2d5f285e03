"""Prints, one NAME=VALUE per line, the env a kubelet would give container NAME of the patched demo
pod: literal values as they are, fieldRefs resolved from the pod's metadata, and the pod's volume
mount paths mapped onto directories of this machine (MOUNT=LOCAL arguments)."""
import json
import sys

pod = json.load(open(sys.argv[1]))
name = sys.argv[2]
mounts = dict(a.split("=", 1) for a in sys.argv[3:])
meta = pod["metadata"]
spec = pod["spec"]
pod_name = meta.get("name") or meta.get("generateName", "pod-") + "demo1"
fields = {
    "metadata.name": pod_name,
    "metadata.namespace": meta.get("namespace", "default"),
    "metadata.uid": meta.get("uid", "00000000-0000-4000-8000-000000000001"),
    "spec.nodeName": "demo-node",
    "status.hostIP": "127.0.0.1",
    "status.podIP": "127.0.0.1",
}
for k, v in meta.get("labels", {}).items():
    fields[f"metadata.labels['{k}']"] = v

container = next(c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name)
for e in container.get("env", []):
    if "value" in e:
        value = e["value"]
    elif "fieldRef" in e.get("valueFrom", {}):
        value = fields.get(e["valueFrom"]["fieldRef"]["fieldPath"])
        if value is None:
            continue  # a label the pod does not have: the kubelet sets ""; we leave it unset
    else:
        continue
    for mount, local in mounts.items():
        value = value.replace(mount, local)
    print(f"{e['name']}={value}")
