"""Prints what the injector changed in the demo pod: the patch it returned and the resulting shape."""
import base64
import json
import sys

review = json.load(open(sys.argv[1]))
pod = json.load(open(sys.argv[2]))
resp = review["response"]
patch = json.loads(base64.b64decode(resp["patch"])) if resp.get("patch") else []
print(f"AdmissionReview response: allowed={resp['allowed']}, {len(patch)} JSON Patch operations")
for op in patch:
    print(f"  {op['op']:7} {op['path']}")
meta = pod["metadata"]
print("annotations:", {k: v for k, v in meta.get("annotations", {}).items()
                       if k.startswith("profiling.datadoghq.com/")})
spec = pod["spec"]
for c in spec.get("initContainers", []):
    extra = " (native sidecar)" if c.get("restartPolicy") == "Always" else ""
    print(f"init container {c['name']}{extra}: {' '.join(c.get('command', []))}")
for c in spec["containers"]:
    env = {e["name"]: e.get("value", "<from " + next(iter(e.get("valueFrom", {"?": 0}))) + ">")
           for e in c.get("env", [])}
    injected = {k: v for k, v in env.items() if k == "LD_PRELOAD" or k.startswith("DD_")}
    print(f"container {c['name']}: {json.dumps(injected)}")
print("volumes:", [v["name"] for v in spec.get("volumes", [])])
