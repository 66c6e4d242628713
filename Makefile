# mobileone — common tasks. `make demo` is the main job, `make test` the test suite.
GO      ?= go
BIN     ?= ./mobileone
PKGS    := ./...
DEMO    := testdata/demo
DEMO_IMAGES := testdata/imagenet/skimage_chelsea.png testdata/imagenet/skimage_camera.png testdata/imagenet/gomod_go-turns-two-280x360.jpeg
OUT     ?= $(or $(TMPDIR),/tmp)/mobileone-demo

.PHONY: all build test test-deps vet demo bench bench-models bench-models-quick bench-kernels bench-test fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mobileone

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags purego $(PKGS)

# The test suite: vet, the tests with the assembly kernels, and the tests
# with the portable plain-Go kernels (-tags purego).
test: vet
	$(GO) test $(PKGS)
	$(GO) test -tags purego $(PKGS)

# What the tests that check exported ONNX files need beyond Go: Node.js with
# onnxruntime-node (bench/models/package-lock.json; --ignore-scripts: its
# install script fetches optional GPU binaries, the CPU library ships in the
# package) and Debian's python3-onnx for onnx.checker. apt-get runs only for
# what is missing (as root, or through sudo). Without them those tests skip,
# saying why; under CI=true (.ci/run) they fail instead.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends nodejs npm; }
	@/usr/bin/python3 -c 'import onnx' 2>/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends python3-onnx; }
	cd bench/models && npm ci --ignore-scripts --no-audit --no-fund

# The main job, offline: reparameterize the bundled train-time checkpoint,
# classify the bundled photos with both graphs and check they agree.
demo: build
	@mkdir -p $(OUT)
	$(BIN) reparameterize $(DEMO)/mobileone-tiny_demo.py testdata/checkpoint/tiny_train.pth $(OUT)/tiny_deploy.pth
	$(BIN) infer --config $(DEMO)/mobileone-tiny_demo.py --checkpoint testdata/checkpoint/tiny_train.pth --topk 3 $(DEMO_IMAGES)
	$(BIN) infer --config $(DEMO)/mobileone-tiny_demo_deploy.py --checkpoint $(OUT)/tiny_deploy.pth --topk 3 $(DEMO_IMAGES)
	$(BIN) infer --config $(DEMO)/mobileone-tiny_demo.py --checkpoint testdata/checkpoint/tiny_train.pth --json $(DEMO_IMAGES) > $(OUT)/train.json
	$(BIN) infer --config $(DEMO)/mobileone-tiny_demo_deploy.py --checkpoint $(OUT)/tiny_deploy.pth --json $(DEMO_IMAGES) > $(OUT)/deploy.json
	$(GO) run ./internal/demo/compare $(OUT)/train.json $(OUT)/deploy.json

# The speed table of issue #5: Go vs PyTorch 1.13 vs ONNX Runtime, interleaved
# (needs Debian's python3-torch and onnxruntime-node; see bench/README.md).
bench: bench-models

bench-models: build
	bench/models/run.sh

bench-models-quick: build
	QUICK=1 bench/models/run.sh

bench-kernels:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./pkg/kernels/ ./pkg/model/ ./pkg/train/

bench-test:
	$(GO) test -run '^$$' -bench BenchmarkEndToEnd -benchtime 1x ./pkg/cmd/test/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzLoadBytes -fuzztime 30s ./pkg/checkpoint/
	$(GO) test -run '^$$' -fuzz FuzzLoadBytes -fuzztime 30s ./pkg/config/
	$(GO) test -run '^$$' -fuzz FuzzCfgOptions -fuzztime 30s ./pkg/setup/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./pkg/imagenet/
	$(GO) test -run '^$$' -fuzz '^FuzzGemm$$' -fuzztime 30s ./pkg/kernels/
	$(GO) test -run '^$$' -fuzz '^FuzzConv$$' -fuzztime 30s ./pkg/kernels/
	$(GO) test -run '^$$' -fuzz '^FuzzDepthwise$$' -fuzztime 30s ./pkg/kernels/
	$(GO) test -tags purego -run '^$$' -fuzz '^FuzzGemm$$' -fuzztime 30s ./pkg/kernels/
	$(GO) test -tags purego -run '^$$' -fuzz '^FuzzConv$$' -fuzztime 30s ./pkg/kernels/

clean:
	rm -f $(BIN)
	rm -rf $(OUT)
