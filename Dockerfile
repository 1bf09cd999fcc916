# syntax=docker/dockerfile:1
# Dockerfile: the pubgate container image.  Two stages: the first builds
# the Debian package from this tree (contrib/deb.sh: meson, -Dtests=false,
# Debian's hardening flags); the second is Debian 12 slim with that .deb
# installed by apt (its dependencies resolved the same way as on a host),
# running as the non-root user pubgate (uid 10001).
#   settings  /etc/pubgate/pubgate.yaml (contrib/docker/pubgate.yaml: the
#             gate on :8080, the admin API on :9100; mount your own over it)
#   policy    embedded strict policy, or `policy:` naming a mounted file
#   state     /var/lib/pubgate (the decision store; a volume)
#   health    HEALTHCHECK asks /-/pubgate/health on the admin listener
# Build: docker build -t pubgate .   Run: contrib/docker/compose.yaml.
FROM debian:12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config \
      meson ninja-build python3 debhelper libevent-dev libssl-dev \
      libyaml-dev zlib1g-dev node-llhttp libhyperscan-dev libisal-dev \
      libsqlite3-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN mkdir /out && /src/contrib/deb.sh /out

FROM debian:12-slim
RUN groupadd --system --gid 10001 pubgate \
 && useradd --system --uid 10001 --gid pubgate --home-dir /var/lib/pubgate \
      --no-create-home --shell /usr/sbin/nologin pubgate
COPY --from=build /out/ /tmp/deb/
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
      /tmp/deb/pubgate_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/deb \
 && install -d -o pubgate -g pubgate -m 0750 /var/lib/pubgate
COPY contrib/docker/pubgate.yaml /etc/pubgate/pubgate.yaml
COPY contrib/docker/healthcheck.sh /usr/local/lib/pubgate/healthcheck
USER 10001:10001
VOLUME ["/var/lib/pubgate"]
EXPOSE 8080 9100
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/lib/pubgate/healthcheck"]
ENTRYPOINT ["/usr/bin/pubgate", "serve", "-c", "/etc/pubgate/pubgate.yaml"]
