package onnxpb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates onnx.pb.go the way the go:generate
// line does, into a temporary folder, and compares it with the committed
// file. It needs protoc (Debian's protobuf-compiler) and skips without it.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("skipping: protoc is not on PATH (apt-get install protobuf-compiler)")
	}
	if testing.Short() {
		t.Skip("skipping in -short mode: builds protoc-gen-go")
	}
	dir := t.TempDir()
	plugin := filepath.Join(dir, "protoc-gen-go")
	if out, err := exec.Command("go", "build", "-o", plugin, "google.golang.org/protobuf/cmd/protoc-gen-go").CombinedOutput(); err != nil {
		t.Fatalf("building protoc-gen-go: %v\n%s", err, out)
	}
	cmd := exec.Command(protoc, "--plugin=protoc-gen-go="+plugin, "--go_out="+dir, "--go_opt=paths=source_relative",
		"--go_opt=Monnx.proto=github.com/mobileone-go/mobileone/pkg/onnx/onnxpb", "onnx.proto")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "onnx.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("onnx.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("onnx.pb.go is not what `go generate ./pkg/onnx/onnxpb` writes with %s: regenerate it", protoc)
	}
}
