# specbox container image: a single static binary plus the seed specs and fixtures,
# on an empty (`scratch`) base.
#
#   docker build -t specbox .
#   docker run --rm -p 4010:4010 specbox
#   docker run --rm -p 4010:4010 -v "$PWD/specs:/specs:ro" -v "$PWD/fixtures:/fixtures:ro" specbox
#
# Arguments after the image name are specbox's own (the ENTRYPOINT is the binary), so HTTPS is
# the same flags as on the command line:
#
#   docker run --rm -p 4010:4010 -v "$PWD/certs:/certs:ro" specbox \
#     --tls-cert /certs/server.pem --tls-key /certs/server-key.pem
#   docker run --rm -p 4010:4010 -v "$PWD/tls:/tls" specbox --tls --tls-ca-out /tls/ca.pem
#
# Every serve option can also be set with a SPECBOX_* environment variable
# (see `specbox --help`), which is how CI service containers are usually configured.

############################################################################
# Build stage
############################################################################
# The toolchain is pinned: build/code-order.txt names functions as this rustc's builds do (the
# names carry a hash of the compiler's version), so a newer one would ignore most of it. Move
# both together (bench/code_order.py).
FROM docker.io/library/rust:1.95-bookworm AS build

# Why static: the final stage is `scratch`, which has no libc, no dynamic loader, nothing.
# `+crt-static` on the glibc target links glibc (and everything else) into the binary,
# producing a static-pie that runs on an empty filesystem. Only the gnu target is needed
# (no musl toolchain). `--target` must be given explicitly: with it, RUSTFLAGS apply only
# to the target crates, not to build scripts and proc-macros (which must stay dynamic
# because rustc loads them).
#
# Why the getrandom cfg: by default the `getrandom` crate (0.3/0.4, under ahash, rand and
# uuid) finds libc's getrandom() with dlsym(), which always fails in a static binary, so
# it silently falls back to reading /dev/urandom. Container runtimes do provide /dev, but
# `linux_getrandom` calls the (statically linked) getrandom() directly, so the binary needs
# nothing from the filesystem to seed its hashers and ids (needs Linux >= 3.17).
ENV RUSTFLAGS="-C target-feature=+crt-static --cfg getrandom_backend=\"linux_getrandom\"" \
    CARGO_TERM_COLOR=never
ARG TARGET=x86_64-unknown-linux-gnu

WORKDIR /src

# Dependency-caching layer: build every dependency against a dummy crate, so that a change
# to src/ only recompiles specbox itself, not the ~150 crates below it. This layer is
# rebuilt only when Cargo.toml, Cargo.lock or build.rs change.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --target "$TARGET" --locked \
 && rm -rf src \
           "target/$TARGET/release/specbox" \
           "target/$TARGET/release/deps/specbox-"* \
           "target/$TARGET/release/deps/libspecbox-"* \
           "target/$TARGET/release/.fingerprint/specbox-"*

# The real sources. The dummy's fingerprints were removed above, so cargo rebuilds the
# specbox crate even if COPY preserved source mtimes older than the dummy build.
# The checks after the build fail it here, not at run time in scratch, if the binary came
# out dynamic: no program interpreter (PT_INTERP) and no NEEDED shared libraries.
# (Not `ldd`: for a static-pie, bookworm's ldd prints "statically linked" and exits 0.)
# build/code-order.txt is the order the linker places functions in (build.rs), so that what
# starting and serving run shares few pages; copied here, a new list rebuilds only specbox.
COPY build/ ./build/
COPY src ./src
RUN cargo build --release --target "$TARGET" --locked \
 && cp "target/$TARGET/release/specbox" /specbox \
 && ! readelf -lW /specbox | grep -q 'program interpreter' \
 && ! readelf -dW /specbox | grep -q NEEDED \
 && /specbox --version

############################################################################
# Runtime stage: nothing but the binary, the specs and the fixtures.
############################################################################
FROM scratch

LABEL org.opencontainers.image.title="specbox" \
      org.opencontainers.image.description="A stateful mock/sandbox server for contract testing, driven by OpenAPI 3.0/3.1 specs" \
      org.opencontainers.image.source="https://github.com/OWNER/specbox" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"

COPY --from=build /specbox /specbox
# Seed specs and fixtures; mount your own over /specs and /fixtures (read-only is fine:
# specbox only reads them, and keeps all state in memory).
COPY specs/ /specs/
COPY fixtures/ /fixtures/

# Listen on all interfaces: the binary's default, 127.0.0.1, would be unreachable from
# outside the container (published ports arrive on the container's eth0).
# NO_COLOR: container logs are not a terminal, so no ANSI colour codes in them.
ENV SPECBOX_HOST=0.0.0.0 \
    SPECBOX_SPECS=/specs \
    SPECBOX_FIXTURES=/fixtures \
    NO_COLOR=1

# Non-root. There is no /etc/passwd in scratch, so the user is given numerically;
# 65532 is the conventional "nonroot" uid/gid of distroless images. The port is above
# 1024, so no capability is needed to bind it.
USER 65532:65532

EXPOSE 4010

# No shell and no curl in scratch, so every instruction below is exec form (a JSON array);
# the shell form would try to run /bin/sh and fail. The binary checks itself:
# `specbox health` GETs http://127.0.0.1:4010/__specbox/health and exits 0 on a 200; when that
# gets no HTTP answer (specbox was given --tls or --tls-cert), it asks again over TLS, so the
# check needs no change for HTTPS. With --tls-client-ca, give it a client certificate through
# SPECBOX_HEALTH_CERT and SPECBOX_HEALTH_KEY.
# If you change SPECBOX_PORT, also set SPECBOX_HEALTH_URL (e.g. http://127.0.0.1:8080).
# HEALTHCHECK is a Docker image-config field: buildah/podman keep it only with
# `--format docker` (the OCI image format has no healthcheck and drops it).
HEALTHCHECK --interval=5s --timeout=3s --retries=3 CMD ["/specbox", "health"]

ENTRYPOINT ["/specbox"]
