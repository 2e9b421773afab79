# syntax=docker/dockerfile:1
#
# pantheon-metrics: a small, non-root image of the exporter.
#   docker build -t pantheon-metrics .
#   docker run --rm -p 8080:8080 -e PANTHEON_MACHINE_TOKENS pantheon-metrics
#   docker run --rm -p 8080:8080 pantheon-metrics serve --demo      # no token needed
#
# The entrypoint is the binary and the default command `serve`, so `docker run IMAGE fetch
# --format prom` works, and so does the reference exporter's command line
# (`docker run IMAGE -env=live -port=8080`).

ARG RUST_VERSION=1
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin pantheon-metrics \
    && install -D -m 0755 target/release/pantheon-metrics /out/pantheon-metrics

# A static busybox only for the health check's `wget`: the distroless image has no shell,
# curl or wget, and this adds about 1 MB without any TLS or shared libraries.
FROM busybox:1.36.1-musl AS busybox

# glibc and libgcc from Debian 12, as the builder; no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/pantheon-metrics /usr/local/bin/pantheon-metrics
COPY --from=busybox /bin/busybox /usr/local/bin/busybox
ENV NO_COLOR=1
# The distroless "nonroot" user (65532).
USER 65532:65532
EXPOSE 8080
# /healthz answers 200 as soon as the exporter listens. With another --listen or --port,
# override the check (docker run --health-cmd, or healthcheck: in compose).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/pantheon-metrics"]
CMD ["serve"]
