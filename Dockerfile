# Multi-stage build of the `retour` binary. The dependencies are compiled in a layer of their
# own (cargo-chef's recipe holds only the manifests and the lock file), so a change to
# Retour's sources rebuilds Retour, not its few hundred dependencies.
FROM rust:1.95.0-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS plan
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
# The SQL is checked against the query data committed in `.sqlx/`, never a database.
ENV SQLX_OFFLINE=true
COPY --from=plan /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin retour
COPY . .
RUN cargo build --release --locked --bin retour

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home retour
COPY --from=build /src/target/release/retour /usr/local/bin/retour
USER retour
ENV RETOUR_ADDR=0.0.0.0:8080 RETOUR_LOG=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
# `serve` applies pending migrations before it listens.
ENTRYPOINT ["retour"]
CMD ["serve"]
