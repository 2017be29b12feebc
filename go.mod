module github.com/plaza-dev/plaza

go 1.26.8

require (
	github.com/google/flatbuffers v25.12.19+incompatible
	github.com/lxzan/gws v1.8.9
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/coder/websocket v1.8.15 // indirect
	github.com/dolthub/maphash v0.1.0 // indirect
	github.com/klauspost/compress v1.20.1 // indirect
	github.com/lesismal/nbio v1.6.8 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
)
