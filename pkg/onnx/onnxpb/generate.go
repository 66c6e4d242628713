// Package onnxpb holds the Go types of ONNX's own protobuf schema,
// onnx/onnx.proto copied unchanged from github.com/onnx/onnx at commit
// f7546912001bc31e92a238b17068a21b373d882e (Apache-2.0), generated with
// protoc (Debian's protobuf-compiler, libprotoc 3.21.12) and the
// protoc-gen-go of the google.golang.org/protobuf version in go.mod.
//
// Regenerate with `go generate ./pkg/onnx/onnxpb` (needs protoc on PATH).
package onnxpb

//go:generate sh -c "go build -o \"${TMPDIR:-/tmp}/protoc-gen-go-mobileone\" google.golang.org/protobuf/cmd/protoc-gen-go && protoc --plugin=protoc-gen-go=\"${TMPDIR:-/tmp}/protoc-gen-go-mobileone\" --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/mobileone-go/mobileone/pkg/onnx/onnxpb onnx.proto"
