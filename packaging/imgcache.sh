#!/bin/sh
# imgcache launcher, installed by the imgcache RPM as /usr/bin/imgcache.
#   imgcache run [--config FILE] | check-config [--config FILE] | demo | sample-origin | version
#
# Reads JAVA_OPTS (and, if set there, JAVA_HOME) from /etc/sysconfig/imgcache when that file
# exists and is readable, finds java ($JAVA_HOME/bin/java, else java on PATH) and runs the jar.
# IMGCACHE_JAR and IMGCACHE_SYSCONFIG override the two paths (relocated installs, tests).

jar=${IMGCACHE_JAR:-/usr/share/imgcache/imgcache.jar}
sysconfig=${IMGCACHE_SYSCONFIG:-/etc/sysconfig/imgcache}

if [ -f "$sysconfig" ] && [ -r "$sysconfig" ]; then
  case $sysconfig in
    /*) ;;
    *) sysconfig=./$sysconfig ;;
  esac
  # shellcheck source=/dev/null
  . "$sysconfig" || {
    echo "imgcache: cannot read $sysconfig" >&2
    exit 1
  }
fi

if [ -n "${JAVA_HOME:-}" ]; then
  java=$JAVA_HOME/bin/java
  if [ ! -x "$java" ]; then
    echo "imgcache: JAVA_HOME is $JAVA_HOME, but $java is not an executable file" >&2
    exit 1
  fi
elif ! java=$(command -v java); then
  echo "imgcache: no Java runtime found: install Java 17 or later" \
    "(e.g. dnf install java-17-openjdk-headless), put java on PATH" \
    "or set JAVA_HOME in $sysconfig" >&2
  exit 1
fi

if [ ! -r "$jar" ]; then
  echo "imgcache: cannot read $jar" >&2
  exit 1
fi

# JAVA_OPTS holds several options: split it on whitespace, but never glob-expand it.
set -f
# shellcheck disable=SC2086
exec "$java" ${JAVA_OPTS:-} -jar "$jar" "$@"
