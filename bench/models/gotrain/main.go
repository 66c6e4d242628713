// Command gotrain times one training step of this project's MobileOne — the
// train-time (multi-branch) graph in train mode: ForwardTrain, cross-entropy,
// Backward and an SGD step (momentum 0.9, weight decay 1e-4), like
// torch_models.py train — and prints one JSON object. It is the Go side of
// the training rows of bench/models/run.sh (there is no CLI for a bare step).
//
//	go run ./bench/models/gotrain -arch s0 -batch 32 -size 224 -threads 2
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"time"

	"github.com/mobileone-go/mobileone/pkg/kernels"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/train"
)

func main() {
	arch := flag.String("arch", "s0", "MobileOne variant (s0..s4)")
	batch := flag.Int("batch", 32, "images per step")
	size := flag.Int("size", 224, "input height and width")
	threads := flag.Int("threads", 1, "kernel goroutines")
	warmup := flag.Int("warmup", 1, "untimed steps first")
	iters := flag.Int("iters", 10, "timed steps (at most)")
	budget := flag.Float64("budget", 20, "stop timing after this many seconds (at least 3 steps)")
	flag.Parse()
	if err := run(*arch, *batch, *size, *threads, *warmup, *iters, *budget); err != nil {
		fmt.Fprintln(os.Stderr, "gotrain:", err)
		os.Exit(1)
	}
}

func run(arch string, batch, size, threads, warmup, iters int, budget float64) error {
	a, ok := model.ArchZoo[arch]
	if !ok {
		return fmt.Errorf("unknown arch %q", arch)
	}
	kernels.SetThreads(threads)
	m, err := model.New(model.Config{Arch: a, NumClasses: 1000})
	if err != nil {
		return err
	}
	r := rand.New(rand.NewSource(0))
	m.InitWeights(r)
	g := m.NewGrads()
	opt, err := train.NewOptimizer(m, g, train.OptimConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4})
	if err != nil {
		return err
	}
	loss := train.CrossEntropyLoss{} // loss_weight 1
	x := model.NewTensor(batch, 3, size, size)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = r.Intn(1000)
	}
	// the trainer's own loop (pkg/train) recycles the step's buffers in a
	// workspace; without one every step allocates ~1 GB afresh, and on a
	// VM each new 4 KB page costs ~12 us to fault in
	ws := model.NewWorkspace()
	step := func() error {
		if _, _, err := train.ComputeGradientsWith(ws, m, g, loss, x, labels); err != nil {
			return err
		}
		opt.Step()
		return nil
	}
	for i := 0; i < warmup; i++ {
		if err := step(); err != nil {
			return err
		}
	}
	var times []float64
	end := time.Now().Add(time.Duration(budget * float64(time.Second)))
	for i := 0; i < iters; i++ {
		t0 := time.Now()
		if err := step(); err != nil {
			return err
		}
		times = append(times, float64(time.Since(t0).Microseconds())/1000)
		if i >= 2 && time.Now().After(end) {
			break
		}
	}
	s := append([]float64(nil), times...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	out, _ := json.Marshal(map[string]any{
		"side": "go", "kind": "train", "arch": arch, "batch": batch, "size": size, "threads": threads,
		"median_ms": med, "min_ms": s[0], "images_per_s": float64(batch) / med * 1000, "iters": len(times),
		"kernels": kernels.FastPath(),
	})
	fmt.Println(string(out))
	return nil
}
