#!/bin/sh
# mpirun's launch agent for the emulated cluster (scripts/emulated-cluster.sh): instead of
# ssh-ing to HOST it runs the command inside the node namespace that owns HOST's address.
#   mpirun --mca plm_rsh_agent scripts/netns-agent.sh …   (mpirun itself runs inside node 0)
set -eu
while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done
host=$1; shift
PREFIX=${WOOF_NETNS_PREFIX:-woofnet}
case "$host" in
    198.18.0.*) node=$(( ${host##*.} - 10 )) ;;
    *) echo "netns-agent: $host is not an emulated node (198.18.0.10…)" >&2; exit 1 ;;
esac
ns="$PREFIX-n$node"
ip netns list | awk '{print $1}' | grep -qx "$ns" || { echo "netns-agent: no namespace $ns for $host (is the cluster up?)" >&2; exit 1; }
# Its own UTS namespace too, so the rank's host name is the node's (the watchdog names it).
exec ip netns exec "$ns" unshare --uts sh -c "hostname $ns && $*"
