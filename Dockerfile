# Build: docker build -t passflow .
# Run:   docker run -p 8000:8000 -e SECRET_KEY="$(openssl rand -hex 32)" passflow
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Declared in Cargo.toml, so the manifest needs it even though only the binary is built.
COPY benches ./benches
RUN cargo build --release --locked --bin passflow

FROM debian:bookworm-slim
RUN useradd --system --no-create-home --uid 10001 passflow
COPY --from=build /src/target/release/passflow /usr/local/bin/passflow
USER passflow
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
ENTRYPOINT ["passflow"]
