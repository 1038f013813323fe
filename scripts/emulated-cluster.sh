#!/bin/sh
# An emulated cluster on this machine: N network namespaces as nodes, each joined by a veth
# link to a bridge that lives in its own namespace, with per-node bandwidth caps (tc HTB).
# Nothing in the root namespace is touched (no link, route or sysctl; each node sets its own TCP
# retry limit); addresses come from the benchmarking range 198.18.0.0/15 (RFC 2544).
#
#   scripts/emulated-cluster.sh up N [--bandwidth RATE] [--out DIR]   RATE: tc rate (100mbit, 1gbit) or 'none'
#   scripts/emulated-cluster.sh down                                   removes everything `up` made
#   scripts/emulated-cluster.sh status                                 lists what exists
#   scripts/emulated-cluster.sh exec NODE CMD...                       runs CMD inside node NODE (0-based)
#   scripts/emulated-cluster.sh mpirun DIR MPIRUN-ARGS...              mpirun inside node 0 on DIR/hostfile
#
# `up` writes DIR/hostfile (one node per line, slots=1; default output/network) for mpirun,
# which then runs inside node 0 and reaches the others through scripts/netns-agent.sh, with
# MPI's traffic kept on the emulated subnet and TCP keepalives on mpirun's own connections, so
# that a node whose link goes down is declared lost in seconds (OpenMPI's default: minutes).
set -eu
PREFIX=${WOOF_NETNS_PREFIX:-woofnet}
BRIDGE_NS=${PREFIX}-br
SUBNET=198.18.0
MAX_NODES=32

die() { echo "emulated-cluster: $*" >&2; exit 1; }
node_ns() { echo "${PREFIX}-n$1"; }
node_ip() { echo "$SUBNET.$(( 10 + $1 ))"; }

need_root_and_tools() {
    [ "$(id -u)" = 0 ] || die "must run as root (network namespaces need CAP_NET_ADMIN)"
    for t in ip tc; do command -v $t >/dev/null 2>&1 || die "'$t' is missing (Debian package iproute2)"; done
    command -v ping >/dev/null 2>&1 || die "'ping' is missing (Debian package iputils-ping)"
    command -v unshare >/dev/null 2>&1 || die "'unshare' is missing (Debian package util-linux)"
    ip netns add "${PREFIX}-probe" 2>/dev/null || die "this kernel or container cannot create network namespaces (ip netns add failed)"
    # The caps need veth pairs and the HTB qdisc; try both inside the probe namespace.
    ok=1
    ip netns exec "${PREFIX}-probe" ip link add p0 type veth peer name p1 2>/dev/null || ok=0
    [ $ok = 0 ] || ip netns exec "${PREFIX}-probe" tc qdisc add dev p0 root handle 1: htb 2>/dev/null || ok=2
    ip netns del "${PREFIX}-probe"
    [ $ok = 1 ] || die "this kernel cannot make $([ $ok = 0 ] && echo 'veth pairs' || echo 'HTB qdiscs (sch_htb)') inside a namespace"
}

# Every namespace this script made, whatever N was.
ours() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${PREFIX}-(br|n[0-9]+|probe)$" || true; }

down() {
    # Deleting a namespace deletes its end of each veth, the peer with it, and its qdiscs.
    for ns in $(ours); do ip netns del "$ns" || die "could not delete namespace $ns"; done
    left=$(ours)
    [ -z "$left" ] || die "namespaces left behind: $left"
    echo "emulated-cluster: down (no ${PREFIX}-* namespace left)"
}

cap() {  # cap NS DEV RATE: HTB root class limiting DEV's egress to RATE
    ip netns exec "$1" tc qdisc add dev "$2" root handle 1: htb default 10 r2q 1000
    ip netns exec "$1" tc class add dev "$2" parent 1: classid 1:10 htb rate "$3" ceil "$3"
}

up() {
    n=$1; shift
    rate=none; out=output/network
    while [ $# -gt 0 ]; do
        case "$1" in
            --bandwidth) rate=$2; shift 2 ;;
            --out) out=$2; shift 2 ;;
            --latency) die "--latency needs tc netem, which this kernel lacks; only bandwidth caps (HTB) are available" ;;
            *) die "unknown option $1" ;;
        esac
    done
    case "$n" in ''|*[!0-9]*) die "N must be a number of nodes, got '$n'" ;; esac
    [ "$n" -ge 2 ] && [ "$n" -le $MAX_NODES ] || die "N must be 2…$MAX_NODES, got $n"
    need_root_and_tools
    [ -z "$(ours)" ] || die "a cluster is already up ($(ours | tr '\n' ' ')): run 'down' first"
    trap 'echo "emulated-cluster: up failed; removing what it made" >&2; down >&2' EXIT
    ip netns add "$BRIDGE_NS"
    ip netns exec "$BRIDGE_NS" ip link add br0 type bridge
    ip netns exec "$BRIDGE_NS" ip link set br0 up
    ip netns exec "$BRIDGE_NS" ip link set lo up
    mkdir -p "$out"
    : > "$out/hostfile.tmp"
    i=0
    while [ $i -lt "$n" ]; do
        ns=$(node_ns $i)
        ip netns add "$ns"
        # Made inside the bridge namespace, so the root namespace never holds either end.
        ip netns exec "$BRIDGE_NS" ip link add "vb$i" type veth peer name "vn$i"
        ip netns exec "$BRIDGE_NS" ip link set "vn$i" netns "$ns"
        ip netns exec "$BRIDGE_NS" ip link set "vb$i" master br0 up
        ip netns exec "$ns" ip link set "vn$i" name eth0
        ip netns exec "$ns" ip addr add "$(node_ip $i)/24" dev eth0
        ip netns exec "$ns" ip link set eth0 up
        ip netns exec "$ns" ip link set lo up
        # A node gives up on a peer that stopped acknowledging after ~13 s of retransmissions
        # (Linux's default, 15 retries, is ~15 minutes): a node whose link is cut otherwise keeps
        # its MPI daemon waiting long after the job ended. This sysctl is the namespace's own.
        ip netns exec "$ns" sh -c 'echo 5 > /proc/sys/net/ipv4/tcp_retries2'
        if [ "$rate" != none ]; then cap "$ns" eth0 "$rate"; cap "$BRIDGE_NS" "vb$i" "$rate"; fi
        echo "$(node_ip $i) slots=1" >> "$out/hostfile.tmp"
        i=$(( i + 1 ))
    done
    mv "$out/hostfile.tmp" "$out/hostfile"
    # Every node reaches every other before we say so.
    i=1
    while [ $i -lt "$n" ]; do
        ip netns exec "$(node_ns 0)" ping -c 1 -W 2 "$(node_ip $i)" >/dev/null || die "node 0 cannot reach node $i ($(node_ip $i))"
        i=$(( i + 1 ))
    done
    trap - EXIT
    echo "emulated-cluster: up: $n nodes $(node_ip 0)…$(node_ip $(( n - 1 ))) (namespaces $(node_ns 0)…), bandwidth $rate per node and direction; hostfile $out/hostfile"
}

status() {
    for ns in $(ours); do
        echo "$ns: $(ip netns exec "$ns" ip -brief addr 2>/dev/null | grep -v '^lo' | tr -s ' ' | tr '\n' ';')"
        for d in $(ip netns exec "$ns" ls /sys/class/net); do ip netns exec "$ns" tc class show dev "$d" 2>/dev/null | sed "s/^/    $d: /"; done
    done
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    up) [ $# -ge 1 ] || die "usage: up N [--bandwidth RATE] [--out DIR]"; up "$@" ;;
    down) [ "$(id -u)" = 0 ] || die "must run as root"; down ;;
    status) status ;;
    exec) [ $# -ge 2 ] || die "usage: exec NODE CMD..."; k=$1; shift
          # A UTS namespace as well, so that the node's processes see its name as their host name.
          exec ip netns exec "$(node_ns "$k")" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$(node_ns "$k")" "$@" ;;
    mpirun) [ $# -ge 2 ] || die "usage: mpirun DIR MPIRUN-ARGS..."; dir=$1; shift
          [ -f "$dir/hostfile" ] || die "no $dir/hostfile: run 'up' first"
          here=$(cd "$(dirname "$0")" && pwd)
          exec "$0" exec 0 mpirun --allow-run-as-root --bind-to none --hostfile "$dir/hostfile" \
              --mca plm_rsh_agent "$here/netns-agent.sh" \
              --mca oob_tcp_if_include "$SUBNET.0/24" --mca btl_tcp_if_include "$SUBNET.0/24" --mca btl self,tcp \
              --mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 3 "$@" ;;
    *) die "usage: up N [--bandwidth RATE] [--out DIR] | down | status | exec NODE CMD... | mpirun DIR MPIRUN-ARGS..." ;;
esac
