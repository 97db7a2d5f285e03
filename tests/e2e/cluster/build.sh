#!/usr/bin/env bash
# Builds the e2e test cluster's binaries once and caches them outside the repository:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl from
# k8s.io/kubernetes, helm from helm.sh/helm/v3, all through the Go module proxy; etcd comes from
# Debian's etcd-server (containerd, runc and the CNI plugins are Debian packages too).
#
# k8s.io/kubernetes requires its staging modules at v0.0.0 (replaced by ./staging paths in its own
# go.mod), which `go install pkg@version` refuses. So a scratch module requires
# k8s.io/kubernetes and replaces each staging module with its published v0.N.P.
#
#   tests/e2e/cluster/build.sh            build what is missing, print the bin dir
#   PODPROF_K8S_CACHE=DIR                 cache root (default ~/.cache/podprof)
#   PODPROF_GO_PARALLEL=N                 go build -p N (default 2: the machine is shared)
set -euo pipefail

K8S_VERSION=${PODPROF_K8S_VERSION:-1.30.14}
HELM_VERSION=${PODPROF_HELM_VERSION:-3.16.4}
cache_root=${PODPROF_K8S_CACHE:-$HOME/.cache/podprof}
dir="$cache_root/k8s-$K8S_VERSION"
bin="$dir/bin"
par=${PODPROF_GO_PARALLEL:-2}
export PATH=/usr/local/go/bin:$PATH
export GOFLAGS="-buildvcs=false -p=$par -trimpath"
export CGO_ENABLED=0

log() { echo "cluster-build: $*" >&2; }

# A stamp holds the recipe a binary was built with; a changed recipe rebuilds it.
recipe() {
    case $1 in
    helm) echo "helm $HELM_VERSION defaults-to-kube $K8S_VERSION" ;;
    *) echo "$1 $K8S_VERSION" ;;
    esac
}
have() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.ok" 2>/dev/null)" = "$(recipe "$1")" ]; }
stamp() { recipe "$1" >"$bin/.$1.ok"; }

mkdir -p "$bin"
# Concurrent test runs share the cache: one builds, the others wait for it.
exec 9>"$dir/.lock"
flock 9

etcd_bin() {
    if [ -x /usr/bin/etcd ]; then
        ln -sf /usr/bin/etcd "$bin/etcd"
        stamp etcd
        return
    fi
    log "installing Debian etcd-server (etcd 3.4.23 serves Kubernetes 1.30)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
    # The package starts a system etcd on :2379; the tests run their own on other ports.
    $sudo systemctl disable --now etcd >/dev/null 2>&1 || true
    ln -sf /usr/bin/etcd "$bin/etcd"
    stamp etcd
}

K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

# The scratch module is tidied for exactly the commands it builds; its stamp lists them, so adding
# a command re-tidies it.
k8s_scratch_module() {
    local mod="$dir/src/kubernetes"
    [ "$(cat "$mod/go.sum.ok" 2>/dev/null)" = "${K8S_CMDS[*]}" ] && { echo "$mod"; return; }
    mkdir -p "$mod"
    local gomod
    gomod=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
        sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
    [ -f "$gomod" ] || { log "cannot download k8s.io/kubernetes@v$K8S_VERSION"; exit 1; }
    local minor=${K8S_VERSION#1.}  # 30.14 -> v0.30.14
    {
        echo "module podprof.test/k8sbuild"
        echo
        echo "go 1.22"
        echo
        echo "require k8s.io/kubernetes v$K8S_VERSION"
        echo
        echo "replace ("
        # Every staging module kubernetes replaces with a ./staging path, at its published tag.
        sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod" |
            while read -r m; do echo "	$m => $m v0.$minor"; done
        echo ")"
    } >"$mod/go.mod"
    {
        printf '//go:build tools\n\npackage tools\n\nimport (\n'
        for c in "${K8S_CMDS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
        printf ')\n'
    } >"$mod/tools.go"
    (cd "$mod" && go mod tidy -e >&2)
    echo "${K8S_CMDS[*]}" >"$mod/go.sum.ok"
    echo "$mod"
}

k8s_bins() {
    local need=()
    for b in "${K8S_CMDS[@]}"; do have "$b" || need+=("$b"); done
    [ ${#need[@]} -eq 0 ] && return
    local mod
    mod=$(k8s_scratch_module)
    for b in "${need[@]}"; do
        log "building $b v$K8S_VERSION"
        local start=$SECONDS
        (cd "$mod" && go build -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)" \
            -o "$bin/$b" "k8s.io/kubernetes/cmd/$b")
        stamp "$b"
        log "built $b in $((SECONDS - start)) s"
    done
}

helm_bin() {
    have helm && return
    local mod="$dir/src/helm"
    mkdir -p "$mod"
    log "building helm v$HELM_VERSION"
    local start=$SECONDS
    # helm's built-in Kubernetes version (used by `helm template` and `helm lint`) comes from
    # link-time variables; pin it to the cluster's version so rendered manifests target it.
    local major minor pkg=helm.sh/helm/v3/pkg
    major=$(echo "$K8S_VERSION" | cut -d. -f1)
    minor=$(echo "$K8S_VERSION" | cut -d. -f2)
    (cd "$mod" && GOBIN="$bin" go install -ldflags "-s -w \
        -X $pkg/chartutil.k8sVersionMajor=$major -X $pkg/chartutil.k8sVersionMinor=$minor \
        -X $pkg/lint/rules.k8sVersionMajor=$major -X $pkg/lint/rules.k8sVersionMinor=$minor \
        -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
        "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION")
    stamp helm
    log "built helm in $((SECONDS - start)) s"
}

etcd_bin
helm_bin
k8s_bins
echo "$bin"
