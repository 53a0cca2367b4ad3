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
ENV CIPPBOT_DATA=/data/cippbot.db
VOLUME ["/data"]
USER nonroot:nonroot
ENTRYPOINT ["/cippbot"]
CMD ["serve"]
