#!/bin/sh
# Start the test servers (PostgreSQL, MariaDB, Redis) that are installed but not
# answering, and wait until they answer. A server that is not installed is left
# alone: its tests skip with a reason, or fail when CI=true.
set -u

wait_for() { # name, probe command...
    name=$1; shift
    i=0
    while [ $i -lt 60 ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        i=$((i + 1)); sleep 0.5
    done
    echo "services: $name did not answer within 30 s" >&2
    return 1
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if command -v pg_isready >/dev/null 2>&1 && ! pg_up; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "services: starting PostgreSQL" >&2
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
        wait_for PostgreSQL pg_up
    fi
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }
if command -v redis-server >/dev/null 2>&1 && ! redis_up; then
    echo "services: starting Redis" >&2
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for Redis redis_up
fi

mariadb_up() { mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -uroot ping; }
if [ -x /usr/sbin/mariadbd ] && ! mariadb_up >/dev/null 2>&1; then
    echo "services: starting MariaDB" >&2
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB mariadb_up
fi
exit 0
