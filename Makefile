# mobileone — common tasks. `make demo` is the main job, `make test` the test suite.
GO      ?= go
BIN     ?= ./mobileone
PKGS    := ./...
DEMO    := testdata/demo
DEMO_CFG := $(DEMO)/fmnist_demo.py
DEMO_DEPLOY_CFG := $(DEMO)/fmnist_demo_deploy.py
DEMO_IMAGES := $(sort $(wildcard $(DEMO)/images/*.png))
DEMO_CKPT := $(DEMO)/fmnist_demo_deploy.pth
OUT     ?= $(or $(TMPDIR),/tmp)/mobileone-demo

.PHONY: all build test test-deps vet demo demo-checkpoint bench bench-models bench-models-quick bench-kernels bench-decode bench-test fuzz clean

all: build

# The version --version prints: the git description of the checkout
# (tag, or commit and -dirty), stamped into pkg/cmd/root.Version.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
LDFLAGS := -X github.com/mobileone-go/mobileone/pkg/cmd/root.Version=$(VERSION)

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/mobileone

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

# The main job, offline: train a small MobileOne on the bundled Fashion-MNIST
# slice (testdata/fashion-mnist, about a minute on 2 cores), reparameterize
# it, test it (accuracy/top1 must reach 80%), classify the bundled images with
# the train-time and the deploy model (drawing the predictions on them), check
# both are right and agree, plot the training curves and draw the least
# confident successes and failures.
demo: build
	@rm -rf $(OUT) && mkdir -p $(OUT)
	$(BIN) train $(DEMO_CFG) --work-dir $(OUT)/work
	$(BIN) reparameterize $(DEMO_CFG) $(OUT)/work/epoch_12.pth $(OUT)/fmnist_deploy.pth
	$(BIN) test $(DEMO_DEPLOY_CFG) $(OUT)/fmnist_deploy.pth --out $(OUT)/preds.pkl | tee $(OUT)/test.log
	$(BIN) infer --config $(DEMO_DEPLOY_CFG) --checkpoint $(OUT)/fmnist_deploy.pth --topk 3 --show-dir $(OUT)/show --rescale-factor 8 $(DEMO_IMAGES)
	$(BIN) infer --config $(DEMO_CFG) --checkpoint $(OUT)/work/epoch_12.pth --json $(DEMO_IMAGES) > $(OUT)/train.json
	$(BIN) infer --config $(DEMO_DEPLOY_CFG) --checkpoint $(OUT)/fmnist_deploy.pth --json $(DEMO_IMAGES) > $(OUT)/deploy.json
	$(BIN) analyze-logs plot-curve $(OUT)/work/*/vis_data/scalars.json --keys loss accuracy/top1 --legend loss top-1 --title "fmnist_demo" --out $(OUT)/curves.png
	$(BIN) analyze-results $(DEMO_DEPLOY_CFG) $(OUT)/preds.pkl --out-dir $(OUT)/gallery --topk 8 --rescale-factor 8
	$(GO) run ./internal/demo/check -min-top1 80 -test-log $(OUT)/test.log $(OUT)/train.json $(OUT)/deploy.json
	@echo "curves: $(OUT)/curves.png and $(OUT)/work/training_curves.png; pictures: $(OUT)/show (infer --show-dir), $(OUT)/gallery/{success,fail} (analyze-results); model: $(OUT)/fmnist_deploy.pth"

# Rebuild the committed demo checkpoint ($(DEMO_CKPT), the reparameterized
# model of `make demo`, seed 0) that the tests use.
demo-checkpoint: build
	@rm -rf $(OUT)/ckpt && mkdir -p $(OUT)/ckpt
	$(BIN) train $(DEMO_CFG) --work-dir $(OUT)/ckpt/work --seed 0
	$(BIN) reparameterize $(DEMO_CFG) $(OUT)/ckpt/work/epoch_12.pth $(DEMO_CKPT)

# The speed table of issue #5: Go vs PyTorch 1.13 vs ONNX Runtime, interleaved
# (needs Debian's python3-torch and onnxruntime-node; see bench/README.md).
bench: bench-models

bench-models: build
	bench/models/run.sh

bench-models-quick: build
	QUICK=1 bench/models/run.sh

bench-kernels:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./pkg/kernels/ ./pkg/model/ ./pkg/train/

# JPEG decoding against libjpeg-turbo's tjbench (OpenCV's decoder), file by
# file on one core: needs Debian's libjpeg-turbo-progs.
bench-decode:
	bench/decode/run.sh

bench-test:
	$(GO) test -run '^$$' -bench BenchmarkEndToEnd -benchtime 1x ./pkg/cmd/test/

# Issue #14's serving load: `mobileone serve` with the s0 deploy checkpoint on
# a loopback port, 64 concurrent clients sending 2,000 photos, the hostile
# requests of internal/loadtest, RSS before/after, and the throughput against
# `mobileone benchmark --batch-size 8` (see bench/README.md).
.PHONY: bench-serve
bench-serve: build
	$(GO) run ./bench/serve -bin $(BIN) $(BENCH_SERVE_FLAGS)

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzLoadBytes -fuzztime 30s ./pkg/checkpoint/
	$(GO) test -run '^$$' -fuzz FuzzUnmarshalPickle -fuzztime 30s ./pkg/checkpoint/
	$(GO) test -run '^$$' -fuzz FuzzLoadBytes -fuzztime 30s ./pkg/config/
	$(GO) test -run '^$$' -fuzz FuzzCfgOptions -fuzztime 30s ./pkg/setup/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./pkg/imagenet/
	$(GO) test -run '^$$' -fuzz FuzzCfgOptions -fuzztime 30s ./pkg/cmd/test/
	$(GO) test -run '^$$' -fuzz FuzzArgs -fuzztime 30s ./pkg/cmd/infer/
	$(GO) test -run '^$$' -fuzz FuzzImport -fuzztime 30s ./pkg/onnx/
	$(GO) test -run '^$$' -fuzz '^FuzzGemm$$' -fuzztime 30s ./pkg/kernels/
	$(GO) test -run '^$$' -fuzz '^FuzzConv$$' -fuzztime 30s ./pkg/kernels/
	$(GO) test -run '^$$' -fuzz '^FuzzDepthwise$$' -fuzztime 30s ./pkg/kernels/
	$(GO) test -tags purego -run '^$$' -fuzz '^FuzzGemm$$' -fuzztime 30s ./pkg/kernels/
	$(GO) test -tags purego -run '^$$' -fuzz '^FuzzConv$$' -fuzztime 30s ./pkg/kernels/

clean:
	rm -f $(BIN)
	rm -rf $(OUT)
