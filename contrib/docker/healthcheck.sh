#!/bin/bash
# contrib/docker/healthcheck.sh: the container's HEALTHCHECK.  Asks
# GET /-/pubgate/health on the admin listener (bash's /dev/tcp: the slim
# image has no curl) and exits 0 only for a 200 whose body says
# "status": "ok".  Usage: healthcheck [HOST [PORT]] (127.0.0.1 9100).
host=${1:-127.0.0.1}
port=${2:-9100}
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /-/pubgate/health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' \
    "$host" >&3
reply=$(timeout 4 cat <&3) || exit 1
case $reply in
"HTTP/1.1 200 "*'"status": "ok"'*) exit 0 ;;
*) exit 1 ;;
esac
