// Package ort runs ONNX models in ONNX Runtime's CPU build through Node.js
// and the onnxruntime-node npm package (the one bench/models/package.json
// pins; `make test-deps` installs it). It is the independent reference the
// exporter is checked against and what `mobileone validate --ort` uses.
package ort

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed run.js
var runJS []byte

// EnvModules names the environment variable that points at the
// onnxruntime-node package directory (…/node_modules/onnxruntime-node).
const EnvModules = "MOBILEONE_ORT_NODE"

// repoModules is where `make test-deps` installs onnxruntime-node,
// relative to the repository root.
const repoModules = "bench/models/node_modules/onnxruntime-node"

// ErrNotFound is returned by Find when node or onnxruntime-node is missing.
var ErrNotFound = errors.New("ONNX Runtime not found")

// Runtime is a node binary and the onnxruntime-node package it loads.
type Runtime struct {
	Node    string // path of the node executable
	Package string // directory of the onnxruntime-node package
}

// Find locates node on PATH and onnxruntime-node: $MOBILEONE_ORT_NODE, else
// bench/models/node_modules/onnxruntime-node in the current directory or
// one of its parents (the repository's own install). The error wraps
// ErrNotFound and says what is missing and how to install it.
func Find() (*Runtime, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is not on PATH (install Node.js, then `make test-deps`)", ErrNotFound)
	}
	if dir := os.Getenv(EnvModules); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
			return nil, fmt.Errorf("%w: $%s=%s is not an onnxruntime-node package directory", ErrNotFound, EnvModules, dir)
		}
		return &Runtime{Node: node, Package: dir}, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, repoModules)
		if _, err := os.Stat(filepath.Join(p, "package.json")); err == nil {
			return &Runtime{Node: node, Package: p}, nil
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return nil, fmt.Errorf("%w: no %s above %s and $%s is unset (run `make test-deps`, or point $%s at an onnxruntime-node directory)",
		ErrNotFound, repoModules, wd, EnvModules, EnvModules)
}

// Tensor is an input or output of a run: float32 (F32) or uint8 (U8) data
// in C order.
type Tensor struct {
	Name string
	Dims []int
	F32  []float32
	U8   []byte
}

type wireTensor struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Dims []int  `json:"dims"`
	Data string `json:"data"`
}

// Result is what one run returned.
type Result struct {
	Version string   // ONNX Runtime version
	Outputs []Tensor // in the session's output order
}

// Run loads the model file in a new ONNX Runtime session (CPU execution
// provider, threads intra-op threads) and runs it once on inputs.
func (r *Runtime) Run(ctx context.Context, modelPath string, threads int, inputs ...Tensor) (*Result, error) {
	abs, err := filepath.Abs(modelPath)
	if err != nil {
		return nil, err
	}
	req := struct {
		Model   string       `json:"model"`
		Threads int          `json:"threads"`
		Inputs  []wireTensor `json:"inputs"`
	}{Model: abs, Threads: threads}
	for _, in := range inputs {
		w := wireTensor{Name: in.Name, Dims: in.Dims}
		if in.U8 != nil {
			w.Type, w.Data = "uint8", base64.StdEncoding.EncodeToString(in.U8)
		} else {
			raw := make([]byte, 4*len(in.F32))
			for i, v := range in.F32 {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
			}
			w.Type, w.Data = "float32", base64.StdEncoding.EncodeToString(raw)
		}
		req.Inputs = append(req.Inputs, w)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	script, err := os.CreateTemp("", "mobileone-ort-*.js")
	if err != nil {
		return nil, err
	}
	defer os.Remove(script.Name())
	if _, err := script.Write(runJS); err != nil {
		script.Close()
		return nil, err
	}
	if err := script.Close(); err != nil {
		return nil, err
	}
	pkg, err := filepath.Abs(r.Package)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, r.Node, script.Name(), pkg)
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("onnxruntime on %s: %v: %s", modelPath, err, strings.TrimSpace(stderr.String()))
	}
	var resp struct {
		Version string       `json:"version"`
		Outputs []wireTensor `json:"outputs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		return nil, fmt.Errorf("onnxruntime on %s: bad reply: %v", modelPath, err)
	}
	res := &Result{Version: resp.Version}
	for _, o := range resp.Outputs {
		raw, err := base64.StdEncoding.DecodeString(o.Data)
		if err != nil {
			return nil, fmt.Errorf("onnxruntime on %s: output %s: %v", modelPath, o.Name, err)
		}
		t := Tensor{Name: o.Name, Dims: o.Dims}
		switch o.Type {
		case "float32":
			t.F32 = make([]float32, len(raw)/4)
			for i := range t.F32 {
				t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case "uint8":
			t.U8 = raw
		default:
			return nil, fmt.Errorf("onnxruntime on %s: output %s has type %s (want float32)", modelPath, o.Name, o.Type)
		}
		res.Outputs = append(res.Outputs, t)
	}
	return res, nil
}
