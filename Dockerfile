# The fragtrace container image for the DaemonSet (deploy/kubernetes/daemonset.yaml).
# Build the static binary first: `cargo xtask dist` (target/dist/fragtrace, musl, eBPF object
# embedded), then: docker build -t ghcr.io/fragtrace/fragtrace:0.1.0 .
FROM scratch
COPY target/dist/fragtrace /fragtrace
# Loopback by default; the DaemonSet passes --listen=$(POD_IP):9862.
ENTRYPOINT ["/fragtrace"]
CMD ["serve"]
