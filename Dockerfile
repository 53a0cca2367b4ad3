# syntax=docker/dockerfile:1
# Build a static cippbot binary, then run it as non-root from a minimal image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.Version=${VERSION}" -o /out/cippbot ./cmd/cippbot \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cippbot /cippbot
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV CIPPBOT_DATA=/data/cippbot.db CIPPBOT_LISTEN=:8080
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
# The image has no shell or curl: the binary asks serve for /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/cippbot", "healthcheck"]
ENTRYPOINT ["/cippbot"]
CMD ["serve"]
