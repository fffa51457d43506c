# Build: docker build -t passflow .
# Run:   docker run -p 8000:8000 -e SECRET_KEY="$(openssl rand -hex 32)" passflow
# With users and sessions in SQLite, kept in a volume:
#        docker run -p 8000:8000 -e SECRET_KEY=... -e DATABASE_URL=sqlite:/data/passflow.db \
#          -v passflow-data:/data passflow

# The toolchain CI builds and tests with (rust-version in Cargo.toml is the floor).
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in a layer of their own: it is rebuilt only when the manifests change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && echo 'fn main() {}' > benches/passflow.rs \
 && cargo build --release --locked --bin passflow \
 && rm -rf src benches
COPY src ./src
# The schema is embedded in the binary; build.rs only tells tests whether PostgreSQL is up.
COPY build.rs ./
COPY migrations ./migrations
# Declared in Cargo.toml, so the manifest needs it even though only the binary is built.
COPY benches ./benches
# The placeholder build left newer timestamps behind; make sure the real sources rebuild.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin passflow

FROM debian:bookworm-slim
# A numeric user (hadolint DL3066): the orchestrator can check runAsNonRoot without the
# image's /etc/passwd (deploy/kubernetes.yaml sets runAsUser to the same 10001).
RUN groupadd --system --gid 10001 passflow \
 && useradd --system --no-create-home --uid 10001 --gid 10001 passflow \
 && mkdir /data && chown 10001:10001 /data
COPY --from=build /src/target/release/passflow /usr/local/bin/passflow
USER 10001:10001
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
# The slim image has no curl: the binary asks its own /health.
HEALTHCHECK --interval=30s --timeout=6s --start-period=5s --retries=3 \
  CMD ["passflow", "healthcheck"]
ENTRYPOINT ["passflow"]
