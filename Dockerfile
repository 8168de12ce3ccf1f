# seq2seq-server (and the seq2seq CLI) in a Debian 12 image without the Swift toolchain:
#   docker build -t seq2seq-server .
#   docker run --rm -p 8080:8080 seq2seq-server                                   # the embedded date model
#   docker run --rm -p 8080:8080 -v "$PWD/en-de:/models/en-de:ro" seq2seq-server --model en-de=/models/en-de
# The build stage runs scripts/bundle-server.sh, which builds the binaries with the Swift runtime linked in,
# checks that they load nothing but OpenBLAS, SentencePiece and the C/C++ runtime, and tries them (docs/deploy.md).

FROM swift:6.3-bookworm AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      libopenblas-dev liblapacke-dev libsentencepiece-dev pkg-config binutils curl >/dev/null \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/bundle-server.sh /opt/seq2seq

FROM debian:bookworm-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libopenblas0-pthread libsentencepiece0 >/dev/null \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/seq2seq /opt/seq2seq
ENV PATH=/opt/seq2seq/bin:$PATH
USER nobody
EXPOSE 8080
# SIGTERM drains requests in flight and exits 0 (Kubernetes: terminationGracePeriodSeconds > --shutdown-grace).
STOPSIGNAL SIGTERM
ENTRYPOINT ["seq2seq-server", "--host", "0.0.0.0", "--port", "8080"]
