#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, from Debian's packages (munge slurmctld slurmd
# slurm-client), for CI and tests/test_slurm.py. Everything it writes lives in one state directory, with its
# own munge key, socket and ports, so /etc/munge and /etc/slurm are left alone; outside it, only the link
# /run/slurm/conf (below), removed by `stop`. One such cluster per machine at a time.
#
#   .ci/slurm-localhost.sh start DIR   # then: export SLURM_CONF=DIR/slurm.conf (sbatch, squeue, sinfo, ...)
#   .ci/slurm-localhost.sh stop DIR    # cancels its jobs, ends exactly the daemons it started, keeps DIR/log
#
# Needs root: slurmd starts every job as the user who submitted it.
set -euo pipefail

usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
die() { echo "slurm-localhost: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || usage
command=$1
state=$(mkdir -p "$2" && cd "$2" && pwd)
conf=$state/slurm.conf
export SLURM_CONF=$conf
export PATH=$PATH:/usr/sbin:/sbin  # munged, slurmctld and slurmd live there, off many users' PATH
DAEMONS=(munged slurmctld slurmd)  # started in this order, stopped in the reverse one

# Where Slurm's commands look for slurm.conf when SLURM_CONF is unset (after /etc/slurm/slurm.conf): the
# link a configless slurmd makes. Snakemake's jobstep executor runs `srun` inside each job with every
# SLURM_* variable but the job's identity removed, SLURM_CONF included, so that srun finds the cluster here.
RUN_CONF=/run/slurm/conf

pid_of() { cat "$state/run/$1.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1"); [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; }
node_state() { sinfo --noheader --nodes=localhost --format=%T 2>/dev/null | head -n1 || true; }

show_logs() {
    local log
    for log in "$state"/log/*; do
        [[ -f $log ]] || continue
        echo "----- $log (last 25 lines)" >&2
        tail -n 25 "$log" >&2
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_conf() {
    # The node is this machine as slurmd sees it (CPUs, sockets, cores, threads, RealMemory); a node that
    # claims more than it has would be drained at registration.
    local hardware
    hardware=$(slurmd -C | head -n1 | sed -e 's/^NodeName=[^ ]* //')
    [[ $hardware == *CPUs=* && $hardware == *RealMemory=* ]] || die "cannot read this machine's CPUs and memory from 'slurmd -C'"
    cat > "$conf" <<EOF
# Written by .ci/slurm-localhost.sh: a single-node cluster on localhost, no accounting database.
ClusterName=fanin-localhost
# slurmctld only runs where SlurmctldHost names the host it runs on.
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/run/munge.socket
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.daemon.pid
SlurmdPidFile=$state/run/slurmd.daemon.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
# No cgroups inside containers and CI runners: plain process tracking, no task confinement.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
InactiveLimit=0
KillWait=5
Waittime=0
# squeue reports a finished job for MinJobAge seconds: without accounting that is how Snakemake's Slurm
# executor learns a job's end state (--slurm-status-command squeue).
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 $hardware State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start_daemon() {
    local name=$1; shift
    # Foreground daemons in the background: $! is then exactly the daemon's PID, which `stop` ends.
    setsid "$@" > "$state/log/$name.out" 2>&1 < /dev/null &
    echo $! > "$state/run/$name.pid"
}

start() {
    [[ $(id -u) -eq 0 ]] || die "needs root (slurmd starts jobs as their users)"
    local tool
    for tool in munged mungekey slurmctld slurmd sinfo sbatch squeue scancel python3; do
        command -v "$tool" > /dev/null || die "$tool not found; on Debian: apt-get install munge slurmctld slurmd slurm-client"
    done
    if alive munged && alive slurmctld && alive slurmd && [[ $(node_state) == idle* || $(node_state) == mix* || $(node_state) == alloc* ]]; then
        echo "slurm-localhost: already running (SLURM_CONF=$conf)"
        return 0
    fi
    stop_daemons  # whatever is left of an earlier, half-started cluster in this directory
    [[ -e /etc/slurm/slurm.conf ]] && die "/etc/slurm/slurm.conf exists: srun inside jobs would reach that cluster, not this one"
    if [[ -L $RUN_CONF && ! -e $RUN_CONF/slurm.conf ]]; then
        rm -f "$RUN_CONF"  # left by a cluster that was never stopped
    fi
    if [[ -e $RUN_CONF && $(readlink "$RUN_CONF") != "$state" ]]; then
        local other
        other=$(readlink "$RUN_CONF") || die "$RUN_CONF exists and is not a link: another Slurm runs on this machine"
        die "$RUN_CONF is taken by the cluster in $other (stop it: $0 stop $other)"
    fi
    mkdir -p "$state"/{run,state,spool,log,munge}
    chmod 0700 "$state/munge"; chmod 0755 "$state/run"
    [[ -s $state/munge/munge.key ]] || mungekey --create --keyfile="$state/munge/munge.key"
    chmod 0600 "$state/munge/munge.key"
    write_conf
    mkdir -p "$(dirname "$RUN_CONF")"
    ln -sfn "$state" "$RUN_CONF"

    start_daemon munged munged --foreground --force --socket="$state/run/munge.socket" \
        --key-file="$state/munge/munge.key" --pid-file="$state/run/munged.daemon.pid" \
        --seed-file="$state/munge/munged.seed" --log-file="$state/log/munged.log"
    wait_for "munged" 20 test -S "$state/run/munge.socket"
    start_daemon slurmctld slurmctld -D -i -f "$conf"
    wait_for "slurmctld" 30 scontrol ping
    start_daemon slurmd slurmd -D -N localhost -f "$conf"
    wait_for "node localhost to be idle" 60 node_idle
    echo "slurm-localhost: running; export SLURM_CONF=$conf"
}

node_idle() { [[ $(node_state) == idle* ]]; }

wait_for() {
    local what=$1 seconds=$2 i daemon; shift 2
    for ((i = 0; i < seconds * 4; i++)); do
        if "$@" > /dev/null 2>&1; then return 0; fi
        for daemon in "${DAEMONS[@]}"; do
            if [[ -f $state/run/$daemon.pid ]] && ! alive "$daemon"; then
                show_logs; stop_daemons; die "$daemon exited while waiting for $what (logs above, in $state/log)"
            fi
        done
        sleep 0.25
    done
    show_logs; stop_daemons; die "timed out after ${seconds}s waiting for $what (logs above, in $state/log)"
}

stop_daemons() {
    local i daemon pid
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        daemon=${DAEMONS[i]}
        pid=$(pid_of "$daemon")
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$state/run/$daemon.pid"
    done
}

stop() {
    if alive slurmctld; then
        # Jobs first, while slurmd can still end their processes; then the daemons.
        local jobs
        jobs=$(squeue --noheader --states=PENDING,RUNNING,SUSPENDED,COMPLETING --format=%i 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            for _ in $(seq 60); do
                [[ -z $(squeue --noheader --states=PENDING,RUNNING,SUSPENDED,COMPLETING --format=%i 2>/dev/null) ]] && break
                sleep 0.25
            done
        fi
    fi
    stop_daemons
    [[ -L $RUN_CONF && $(readlink "$RUN_CONF") == "$state" ]] && rm -f "$RUN_CONF"
    rm -rf "$state"/{run,state,spool,munge} "$conf"
    echo "slurm-localhost: stopped (logs kept in $state/log)"
}

status() {
    local daemon
    for daemon in "${DAEMONS[@]}"; do
        if alive "$daemon"; then echo "$daemon: running (pid $(pid_of "$daemon"))"; else echo "$daemon: stopped"; fi
    done
    alive slurmctld && sinfo
}

case $command in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
