package model

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/kernels"
)

var tinyArch = Arch{NumBlocks: [4]int{2, 2, 2, 1}, WidthFactor: [4]float64{0.3, 0.3, 0.3, 0.5},
	NumConvBranches: [4]int{2, 2, 2, 2}, NumSEBlocks: [4]int{0, 0, 0, 1}}

// randomModel fills every entry (weights, BN affine parameters and running
// statistics) with random values, so that reparameterization has real work.
func randomModel(t *testing.T, cfg Config, seed int64) *ImageClassifier {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(seed))
	for _, e := range m.StateDict() {
		switch {
		case e.Kind == Counter:
			*e.Count = 7
		case len(e.Key) > 11 && e.Key[len(e.Key)-11:] == "running_var":
			for i := range e.Tensor.Data {
				e.Tensor.Data[i] = float32(0.5 + r.Float64())
			}
		default:
			for i := range e.Tensor.Data {
				e.Tensor.Data[i] = float32(r.NormFloat64() * 0.3)
			}
		}
	}
	return m
}

func randomInput(n, h, w int, seed int64) *Tensor {
	r := rand.New(rand.NewSource(seed))
	x := NewTensor(n, 3, h, w)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	return x
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestDeployEqualsTrainGraph is upstream's own check
// (tests/test_models/test_backbones/test_mobileone.py): after
// switch_to_deploy the eval outputs agree with atol 1e-5, rtol 1e-4.
func TestDeployEqualsTrainGraph(t *testing.T) {
	for _, cfg := range []Config{
		{Arch: tinyArch, NumClasses: 10},
		{Arch: Arch{NumBlocks: [4]int{1, 2, 1, 2}, WidthFactor: [4]float64{0.25, 0.25, 0.25, 0.25},
			NumConvBranches: [4]int{1, 3, 1, 2}, NumSEBlocks: [4]int{1, 0, 1, 2}}, NumClasses: 7},
	} {
		m := randomModel(t, cfg, 5)
		x := randomInput(2, 3*13, 3*11, 6)
		want, err := m.ForwardAll(x)
		if err != nil {
			t.Fatal(err)
		}
		m.SwitchToDeploy()
		if !m.Deployed() || len(m.StateDict()) >= 100 {
			t.Fatalf("not deployed: %d keys", len(m.StateDict()))
		}
		got, err := m.ForwardAll(x)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want.Logits.Data {
			w, g := float64(want.Logits.Data[i]), float64(got.Logits.Data[i])
			if math.Abs(w-g) > 1e-5+1e-4*math.Abs(w) {
				t.Fatalf("logit %d: train %g, deploy %g", i, w, g)
			}
		}
		// A second switch is a no-op.
		m.SwitchToDeploy()
	}
}

// TestBatchEqualsSingles: in eval mode a batch of N gives the N results of
// N batches of 1.
func TestBatchEqualsSingles(t *testing.T) {
	m := randomModel(t, Config{Arch: tinyArch, NumClasses: 10}, 7)
	x := randomInput(3, 40, 36, 8)
	all, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	per := 3 * 40 * 36
	for n := 0; n < 3; n++ {
		one := &Tensor{Shape: []int{1, 3, 40, 36}, Data: x.Data[n*per : (n+1)*per]}
		got, err := m.Forward(one)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(got.Data, all.Data[n*10:(n+1)*10]); d > 1e-5 {
			t.Fatalf("image %d: batch vs single max diff %g", n, d)
		}
	}
}

func TestBadInputShape(t *testing.T) {
	m, _ := New(Config{Arch: tinyArch, NumClasses: 10})
	for _, shape := range [][]int{{3, 32, 32}, {1, 4, 32, 32}, {0, 3, 32, 32}} {
		if _, err := m.Forward(NewTensor(shape...)); err == nil {
			t.Errorf("shape %v: no error", shape)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	bad := tinyArch
	bad.NumSEBlocks[0] = 3
	for _, cfg := range []Config{
		{Arch: bad, NumClasses: 10},
		{Arch: tinyArch, NumClasses: 0},
		{Arch: tinyArch, NumClasses: 10, InChannels: 1024},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	if _, err := ParseArch("s9"); err == nil {
		t.Error("arch s9 accepted")
	}
	if _, err := ParseArch(map[string]any{"num_blocks": []any{1.0, 1.0, 1.0}}); err == nil {
		t.Error("3-item list accepted")
	}
	a, err := ParseArch(map[string]any{"num_blocks": []any{2.0, 2.0, 2.0, 1.0}, "width_factor": []any{0.3, 0.3, 0.3, 0.5},
		"num_conv_branches": []any{2.0, 2.0, 2.0, 2.0}, "num_se_blocks": []any{0.0, 0.0, 0.0, 1.0}})
	if err != nil || a != tinyArch {
		t.Errorf("ParseArch(tiny) = %+v, %v", a, err)
	}
	if got := MakeDivisible(float64(896/16), 8); got != 56 {
		t.Errorf("make_divisible(56, 8) = %d", got)
	}
	if got := MakeDivisible(float64(2048/16), 8); got != 128 {
		t.Errorf("make_divisible(128, 8) = %d", got)
	}
}

// TestPredictorEqualsForward: packed weights give the plain forward's
// results, for both graphs, several batch sizes and input sizes.
func TestPredictorEqualsForward(t *testing.T) {
	for _, deploy := range []bool{false, true} {
		m := randomModel(t, Config{Arch: tinyArch, NumClasses: 10}, 9)
		if deploy {
			m.SwitchToDeploy()
		}
		p := m.NewPredictor()
		for i, shape := range [][3]int{{1, 64, 64}, {3, 64, 64}, {2, 40, 56}, {1, 64, 64}} {
			x := randomInput(shape[0], shape[1], shape[2], int64(10+i))
			want, err := m.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(got.Data, want.Data); d > 1e-4 {
				t.Fatalf("deploy=%v shape %v: predictor differs by %g", deploy, shape, d)
			}
		}
	}
}

// TestPredictorBatchIsExact: the Predictor gives every image of a batch
// bit for bit the logits it gives the image alone, on one and two threads
// (mobileone test's scores must not depend on --batch-size or the loader's
// chunking). s0's deploy graph at 112×112 has planes whose GEMMs end in 1-
// and 4-column tails (7×7, 14×14) and runs the head on the whole batch
// while the images go through the backbone on their own goroutines, so
// every kernel path that could reorder a sum is on the way; s4 adds SE
// blocks, whose kernels split over threads from each image's goroutine.
// The last image's later blocks split over threads once the other
// goroutine runs out of images. ForwardInto gives Forward's logits.
func TestPredictorBatchIsExact(t *testing.T) {
	for _, arch := range []string{"s0", "s4"} {
		t.Run(arch, func(t *testing.T) { testPredictorBatchIsExact(t, arch) })
	}
}

func testPredictorBatchIsExact(t *testing.T, arch string) {
	m := randomModel(t, Config{Arch: ArchZoo[arch], Deploy: true, NumClasses: 1000}, 13)
	p := m.NewPredictor()
	const n, h, w = 3, 112, 112
	x := randomInput(n, h, w, 14)
	per := 3 * h * w
	for _, th := range []int{1, 2} {
		restore := kernels.SetThreads(th)
		all, err := p.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			one, err := p.Forward(&Tensor{Shape: []int{1, 3, h, w}, Data: x.Data[i*per : (i+1)*per]})
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range one.Data {
				if v != all.Data[i*1000+j] {
					t.Fatalf("threads %d image %d logit %d: alone %v, in the batch %v", th, i, j, v, all.Data[i*1000+j])
				}
			}
		}
		into := make([]float32, n*1000)
		if err := p.ForwardInto(into, x); err != nil {
			t.Fatal(err)
		}
		for j, v := range into {
			if v != all.Data[j] {
				t.Fatalf("threads %d: ForwardInto logit %d is %v, Forward's %v", th, j, v, all.Data[j])
			}
		}
		if err := p.ForwardInto(into[:n*1000-1], x); err == nil || !strings.Contains(err.Error(), "need 3000") {
			t.Errorf("ForwardInto with one value short: %v, want an error naming the 3000 values needed", err)
		}
		kernels.SetThreads(restore)
	}
}

// Predictor.Forward recycles activation buffers across calls: results of
// earlier calls must stay intact, and concurrent calls must not share
// buffers.
func TestPredictorRecyclesBuffersSafely(t *testing.T) {
	m := randomModel(t, Config{Arch: tinyArch, NumClasses: 10}, 11)
	m.SwitchToDeploy()
	p := m.NewPredictor()
	inputs := []*Tensor{randomInput(2, 64, 64, 20), randomInput(1, 48, 40, 21), randomInput(2, 64, 64, 22)}
	var want, got []*Tensor
	for _, x := range inputs {
		w, err := m.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, w)
	}
	for round := 0; round < 3; round++ {
		got = got[:0]
		for _, x := range inputs {
			g, err := p.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, g)
		}
		for i := range got {
			if d := maxAbsDiff(got[i].Data, want[i].Data); d > 1e-4 {
				t.Fatalf("round %d input %d: differs by %g after later calls", round, i, d)
			}
		}
	}
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func(g int) {
			for i := 0; i < 5; i++ {
				x := inputs[(g+i)%len(inputs)]
				out, err := p.Forward(x)
				if err == nil && maxAbsDiff(out.Data, want[(g+i)%len(inputs)].Data) > 1e-4 {
					err = fmt.Errorf("goroutine %d call %d: wrong result", g, i)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}(g)
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// The memory estimate of Predictor.Forward follows the path it takes: one
// image is the whole-pass estimate; a batch is its input plus one image's
// activations per goroutine, far below the whole batch's layer by layer,
// and it grows with the goroutines.
func TestPredictBytes(t *testing.T) {
	m, err := New(Config{Arch: ArchZoo["s0"], Deploy: true, NumClasses: 1000})
	if err != nil {
		t.Fatal(err)
	}
	const h, w = 224, 224
	in1 := int64(4 * 3 * h * w)
	one := m.ActivationBytes(1, h, w)
	if got := m.predictBytes(1, h, w, 2); got != one {
		t.Errorf("1 image: %d, want ActivationBytes %d", got, one)
	}
	for _, th := range []int{1, 2} {
		want := 32*in1 + int64(th)*(one-in1)
		if got := m.predictBytes(32, h, w, th); got != want || got >= m.ActivationBytes(32, h, w) {
			t.Errorf("32 images, %d threads: %d, want %d (below the layer-by-layer %d)", th, got, want, m.ActivationBytes(32, h, w))
		}
	}
	if got := m.predictBytes(1<<40, 1<<20, 1<<20, 2); got != 1<<62 {
		t.Errorf("overflow: %d, want saturation", got)
	}
}

// ActivationBytes saturates instead of wrapping round for inputs no
// machine holds (--shape 2147483647 once passed the memory check and
// panicked allocating the input).
func TestActivationBytesSaturates(t *testing.T) {
	m, err := New(Config{Arch: ArchZoo["s0"], Deploy: true, NumClasses: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][3]int{{1, 1<<31 - 1, 1<<31 - 1}, {1 << 20, 1 << 20, 1 << 20}} {
		if got := m.ActivationBytes(c[0], c[1], c[2]); got != 1<<62 {
			t.Errorf("%v: %d, want 2^62", c, got)
		}
		if got := m.predictBytes(c[0], c[1], c[2], 2); got != 1<<62 {
			t.Errorf("predict %v: %d, want 2^62", c, got)
		}
	}
	if got := m.ActivationBytes(1, 224, 224); got <= 0 || got > 1<<30 {
		t.Errorf("224x224: %d", got)
	}
}
