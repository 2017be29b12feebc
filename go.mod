module github.com/plaza-dev/plaza

go 1.26.8

require github.com/google/flatbuffers v25.12.19+incompatible
