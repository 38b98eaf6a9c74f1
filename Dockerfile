# BAPay daemons and CLI in one image: chain-adapter, outsourcer, calculator,
# arbiter, bapay (and the demo script). The nodes come from their official
# images (docker-compose.yml); this image never builds Bitcoin Core.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bins \
      -p bapay-chain-adapter -p bapay-outsourcer -p bapay-calculator -p bapay-arbiter -p bapay-cli

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/chain-adapter /src/target/release/outsourcer \
     /src/target/release/calculator /src/target/release/arbiter /src/target/release/bapay \
     /usr/local/bin/
COPY scripts/compose-demo.sh scripts/with-fairpay.sh scripts/compose-certs.sh /usr/local/bin/
# Never root: uid 10001 owns the mount points, so fresh named volumes
# (docker-compose.yml) are its own.
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin bapay \
    && mkdir -p /data /certs /fairpay \
    && chown bapay:bapay /data /certs /fairpay
USER bapay
ENV RUST_LOG=info
