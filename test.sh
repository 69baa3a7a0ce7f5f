#!/usr/bin/env bash
# Runs imgcache's whole test suite (README, "Quick start", second command).
# On a fresh Debian 12 machine with JDK 17 and Maven it first installs, with apt, what the tests
# need that Maven cannot fetch: etcd (the membership tests start a real one), rpm (the
# package check) and promtool (the monitoring check).
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v rpmbuild >/dev/null 2>&1 || need+=(rpm)
# promtool comes in Debian's prometheus package; its recommends (node exporter, smartmontools,
# ipmitool ...) are not needed. On a host booted with systemd the package starts a Prometheus server.
need_plain=()
command -v promtool >/dev/null 2>&1 || need_plain+=(prometheus)
if ((${#need[@]} + ${#need_plain[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "test.sh: installing ${need[*]} ${need_plain[*]} with apt-get"
  $sudo apt-get update -qq
  if ((${#need[@]})); then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if ((${#need_plain[@]})); then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_plain[@]}" >/dev/null
  fi
fi

mvn -B -ntp verify "$@"
# Rules, their unit tests, the dashboard, and promtool check metrics on the node scrape that
# MonitoringNamesTest (in verify) wrote.
packaging/check-monitoring
# After verify, so that the RPM packages the jar just built and tested.
packaging/test-rpm
# Cluster fault tests (chaos/README.md): node processes, a 3-member etcd, faults in network
# namespaces. Needs root.
if [ "$(id -u)" -eq 0 ]; then exec chaos/run; else exec sudo chaos/run; fi
