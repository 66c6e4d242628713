// Package benchmark implements `mobileone benchmark`: latency and
// throughput of a config's model on synthetic input.
package benchmark

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"runtime"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/kernels"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// Options are the parsed arguments of benchmark.
type Options struct {
	IO         *cmdutil.IOStreams
	Config     string
	Checkpoint string
	CfgOptions []string
	BatchSize  int
	H, W       int
	Threads    int
	Iters      int
	Warmup     int
	JSON       bool
	Verbose    bool
}

// NewCmdBenchmark returns the benchmark command.
func NewCmdBenchmark(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	var shape []int
	cmd := &cobra.Command{
		Use:   "benchmark CONFIG",
		Short: "Measure the model's forward latency and images/s on synthetic input",
		Long: `Run the config's model on random input and report the median, min and max time
per batch and the images/s. Without --checkpoint the weights are random (speed does
not depend on them). Use a deploy config for the reparameterized model.`,
		Example: `  mobileone benchmark mobileone-s0_deploy_8xb32_in1k
  mobileone benchmark mobileone-s0_deploy_8xb32_in1k --batch-size 32 --threads 2 --json
  mobileone benchmark mobileone-s4_deploy_8xb32_in1k --shape 256 --iters 20`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: printconfig.CompleteConfig,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = args[0]
			var err error
			if opts.H, opts.W, err = cmdutil.ParseShape(shape); err != nil {
				return err
			}
			for _, c := range []struct {
				name     string
				v, least int
			}{{"--shape", min(opts.H, opts.W), 1}, {"--batch-size", opts.BatchSize, 1}, {"--iters", opts.Iters, 1}, {"--warmup", opts.Warmup, 0}, {"--threads", opts.Threads, 0}} {
				if c.v < c.least {
					return cmdutil.FlagErrorf("%s must be at least %d, got %d", c.name, c.least, c.v)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Checkpoint, "checkpoint", "", "load these weights instead of random ones")
	fl.StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	fl.IntVar(&opts.BatchSize, "batch-size", 1, "images per forward pass")
	fl.IntSliceVar(&shape, "shape", []int{224}, "input size H or H,W")
	fl.IntVar(&opts.Threads, "threads", 0, "goroutines per kernel (default: GOMAXPROCS)")
	fl.IntVar(&opts.Iters, "iters", 30, "timed iterations")
	fl.IntVar(&opts.Warmup, "warmup", 3, "untimed iterations first")
	fl.BoolVar(&opts.JSON, "json", false, "print the results as JSON")
	fl.BoolVarP(&opts.Verbose, "verbose", "v", false, "also report the median time of each stage")
	return cmd
}

// Stage is one stage's median time.
type Stage struct {
	Name     string  `json:"name"`
	MedianMS float64 `json:"median_ms"`
}

// Report is benchmark's result; its JSON form is benchmark --json's.
type Report struct {
	Config     string    `json:"config"`
	Deploy     bool      `json:"deploy"`
	BatchSize  int       `json:"batch_size"`
	Shape      [2]int    `json:"shape"`
	Threads    int       `json:"threads"`
	Iters      int       `json:"iters"`
	MedianMS   float64   `json:"median_ms"`
	MinMS      float64   `json:"min_ms"`
	MaxMS      float64   `json:"max_ms"`
	ImagesPerS float64   `json:"images_per_s"`
	TimesMS    []float64 `json:"times_ms"`
	// Stages holds the median time of each stage (with --verbose).
	Stages []Stage `json:"stages,omitempty"`
	GOARCH string  `json:"goarch"`
	// Kernels names the kernel path (kernels.FastPath: avx512f, avx2+fma
	// or go) and Layout the activations' ("nchwc": blocked, "nchw").
	Kernels string `json:"kernels"`
	Layout  string `json:"layout"`
}

func run(ctx context.Context, opts *Options) error {
	cfg, mc, err := setup.Load(opts.Config, opts.CfgOptions)
	if err != nil {
		return err
	}
	var m *model.ImageClassifier
	if opts.Checkpoint != "" {
		l, err := setup.LoadModel(ctx, mc, opts.Checkpoint, opts.IO.ErrOut, opts.IO.ErrOut)
		if err != nil {
			return err
		}
		m = l.Model
	} else {
		if m, err = model.New(mc); err != nil {
			return err
		}
		m.InitWeights(rand.New(rand.NewSource(0)))
	}
	pred := m.NewPredictor()
	if opts.Threads > 0 {
		defer kernels.SetThreads(kernels.SetThreads(opts.Threads))
	}
	// Refuse before the input and the activations are allocated.
	if err := pred.CheckMemory(opts.BatchSize, opts.H, opts.W); err != nil {
		return err
	}
	r := rand.New(rand.NewSource(1))
	x := model.NewTensor(opts.BatchSize, 3, opts.H, opts.W)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	// one logits buffer for every pass, as a serving loop keeps one
	logits := make([]float32, opts.BatchSize*pred.NumClasses())
	for i := 0; i < opts.Warmup; i++ {
		if err := pred.ForwardInto(logits, x); err != nil {
			return err
		}
	}
	rep := Report{Config: cfg.Filename, Deploy: mc.Deploy, BatchSize: opts.BatchSize, Shape: [2]int{opts.H, opts.W},
		Threads: kernels.Threads(), Iters: opts.Iters, GOARCH: runtime.GOARCH, Kernels: kernels.FastPath(), Layout: pred.Layout()}
	for i := 0; i < opts.Iters; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: %v", cmdutil.ErrCancel, err)
		}
		t0 := time.Now()
		if err := pred.ForwardInto(logits, x); err != nil {
			return err
		}
		rep.TimesMS = append(rep.TimesMS, float64(time.Since(t0).Microseconds())/1000)
	}
	rep.MedianMS, rep.MinMS, rep.MaxMS = median(rep.TimesMS)
	if opts.Verbose {
		per := map[string][]float64{}
		var names []string
		for i := 0; i < opts.Iters; i++ {
			st, err := pred.ProfileStages(x)
			if err != nil {
				return err
			}
			for _, s := range st {
				if _, ok := per[s.Name]; !ok {
					names = append(names, s.Name)
				}
				per[s.Name] = append(per[s.Name], s.Seconds*1000)
			}
		}
		for _, n := range names {
			m, _, _ := median(per[n])
			rep.Stages = append(rep.Stages, Stage{Name: n, MedianMS: m})
		}
	}
	rep.ImagesPerS = float64(opts.BatchSize) / (rep.MedianMS / 1000)
	if opts.JSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(opts.IO.Out, string(b))
		return nil
	}
	graph := "train-time graph"
	if mc.Deploy {
		graph = "deploy graph"
	}
	fmt.Fprintf(opts.IO.Out, "%s (%s), batch %d, %dx%d, %d threads, %d iterations, %s kernels, %s activations\n",
		cfg.Filename, graph, opts.BatchSize, opts.H, opts.W, rep.Threads, opts.Iters, rep.Kernels, layoutNames[rep.Layout])
	fmt.Fprintf(opts.IO.Out, "median %.2f ms  min %.2f ms  max %.2f ms  %.1f images/s\n", rep.MedianMS, rep.MinMS, rep.MaxMS, rep.ImagesPerS)
	for _, s := range rep.Stages {
		fmt.Fprintf(opts.IO.Out, "  %-16s %8.2f ms\n", s.Name, s.MedianMS)
	}
	return nil
}

// layoutNames are the activation layouts as the text report names them.
var layoutNames = map[string]string{"nchw": "NCHW", "nchwc": "blocked NCHWc"}

// median returns the median, min and max of v (not empty).
func median(v []float64) (med, lo, hi float64) {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	med = s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return med, s[0], s[len(s)-1]
}
