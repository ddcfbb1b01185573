# creatify-exporter and creatify-simulator on Debian 12.
#
#   docker build -t creatify-exporter --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run -p 10487:10487 -e CREATIFY_API_ID=... -e CREATIFY_API_KEY=... creatify-exporter
#
# tests/deploy/image/image_test.sh builds it with podman and runs it (ctest -L container).

FROM debian:bookworm AS build
# The build half of scripts/install-deps.sh (git stamps the binary with its revision).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config git \
      libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev \
      libssl-dev zlib1g-dev libbrotli-dev libcrypt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The README's build, less the tests.
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF && cmake --build build -j"$(nproc)"
# The example config, with the state on the image's volume.
RUN sed 's|^  path: creatify-exporter.db$|  path: /var/lib/creatify-exporter/state.db|' \
      config/creatify-exporter.example.yaml >build/config.yaml \
 && grep -q '^  path: /var/lib/creatify-exporter/state.db$' build/config.yaml

FROM debian:bookworm-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="creatify-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the video jobs and credits of the Creatify API" \
      org.opencontainers.image.source="https://github.com/creatify-exporter/creatify-exporter" \
      org.opencontainers.image.url="https://github.com/creatify-exporter/creatify-exporter" \
      org.opencontainers.image.documentation="https://github.com/creatify-exporter/creatify-exporter/blob/main/README.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
# Only the shared libraries the two binaries load, and the CAs to verify api.creatify.ai; no apt
# lists or downloaded packages are left behind. /var/lib/creatify-exporter is the state directory,
# owned by the runtime user so that a volume mounted there starts writable.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcpp-httplib0.11 libyaml-cpp0.7 libsqlite3-0 \
      libssl3 zlib1g libbrotli1 libcrypt1 ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 65532 -g 65532 -m 0750 /var/lib/creatify-exporter
COPY --from=build /src/build/creatify-exporter /src/build/creatify-simulator /usr/local/bin/
COPY --from=build /src/build/config.yaml /etc/creatify-exporter/config.yaml
# Numeric, so that Kubernetes' runAsNonRoot can verify it without an /etc/passwd entry.
USER 65532:65532
VOLUME /var/lib/creatify-exporter
# A relative state.path lands on the volume too.
WORKDIR /var/lib/creatify-exporter
EXPOSE 10487
# The exporter also answers /-/healthy and /-/ready on a Unix socket in the state directory, in
# plain HTTP and without credentials (mode 0660: only this user and group reach it), and the
# health check asks it there: it passes whatever port, TLS, client certificates and basic auth the
# web config sets. --web.health-socket, or this variable set to "", moves it or turns it off.
ENV CREATIFY_EXPORTER_HEALTH_SOCKET=/var/lib/creatify-exporter/health.sock
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/creatify-exporter", "--web.health-check"]
ENTRYPOINT ["/usr/local/bin/creatify-exporter"]
CMD ["--config.file=/etc/creatify-exporter/config.yaml"]
