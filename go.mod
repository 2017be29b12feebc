module github.com/plaza-dev/plaza

go 1.26.8

require github.com/google/flatbuffers v25.12.19+incompatible

require (
	github.com/coder/websocket v1.8.15 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/lesismal/nbio v1.6.8 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
)
