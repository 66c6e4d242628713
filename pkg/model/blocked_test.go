package model

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/race"
	"github.com/mobileone-go/mobileone/pkg/kernels"
)

// TestPredictorBlockedIsExact: where the blocked path runs (AVX-512 or
// AVX2; TestPredictorBlockedIsExactAVX2 runs it again with AVX-512 off), a
// deployed s0, s1 and s4 (SE layers) give bit for bit the logits of the
// NCHW path, at batch 1 (convs split over two threads) and batch 3 (images
// on their own goroutines), at 224×224, at sizes whose planes end in
// 1-pixel-wide rows and odd widths, and at 1×3 and 5×2 (1×1 planes from
// the stem on).
func TestPredictorBlockedIsExact(t *testing.T) {
	if !kernels.BlockedFast() {
		t.Skipf("the blocked kernels are the Go twins here (%s): the NCHW path runs", kernels.FastPath())
	}
	t.Logf("kernel path %s", kernels.FastPath())
	for _, arch := range []string{"s0", "s1", "s4"} {
		m := randomModel(t, Config{Arch: ArchZoo[arch], Deploy: true, NumClasses: 1000}, 17)
		p := m.NewPredictor()
		if p.blocked == nil {
			t.Fatalf("%s: the deployed model does not run blocked", arch)
		}
		nchw := m.NewPredictor()
		nchw.blocked = nil
		for i, shape := range [][3]int{{1, 224, 224}, {3, 224, 224}, {1, 33, 47}, {2, 40, 18}, {1, 1, 3}, {2, 5, 2}} {
			x := randomInput(shape[0], shape[1], shape[2], int64(20+i))
			for _, th := range []int{1, 2} {
				restore := kernels.SetThreads(th)
				got, err := p.Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				want, err := nchw.Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				kernels.SetThreads(restore)
				for j := range want.Data {
					if got.Data[j] != want.Data[j] {
						t.Fatalf("%s shape %v threads %d: logit %d blocked %v, NCHW %v", arch, shape, th, j, got.Data[j], want.Data[j])
					}
				}
			}
		}
	}
}

// TestPredictorBlockedIsExactAVX2 runs TestPredictorBlockedIsExact in a
// child process with AVX-512 switched off (GODEBUG=cpu.avx512f=off), so
// that an AVX-512 machine checks the AVX2 blocked kernels on whole models
// too.
func TestPredictorBlockedIsExactAVX2(t *testing.T) {
	if kernels.FastPath() != "avx512f" {
		t.Skipf("no AVX-512 here (%s): TestPredictorBlockedIsExact runs on this machine's path", kernels.FastPath())
	}
	godebug := "cpu.avx512f=off"
	if g := os.Getenv("GODEBUG"); g != "" {
		godebug = g + "," + godebug
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPredictorBlockedIsExact$", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("with AVX-512 off: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "kernel path avx2+fma") || !strings.Contains(string(out), "--- PASS: TestPredictorBlockedIsExact") {
		t.Fatalf("with AVX-512 off the test did not run on the AVX2 kernels:\n%s", out)
	}
}

// TestProfileStagesBlocked: ProfileStages names the same parts on either
// layout (stage0..stage4, neck+head) and times each of them.
func TestProfileStagesBlocked(t *testing.T) {
	m := randomModel(t, Config{Arch: ArchZoo["s0"], Deploy: true, NumClasses: 10}, 19)
	p := m.NewPredictor()
	nchw := m.NewPredictor()
	nchw.blocked = nil
	x := randomInput(2, 64, 64, 30)
	var names [2][]string
	for i, pr := range []*Predictor{p, nchw} {
		st, err := pr.ProfileStages(x)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Seconds <= 0 {
				t.Errorf("predictor %d: %s took %v s", i, s.Name, s.Seconds)
			}
			names[i] = append(names[i], s.Name)
		}
	}
	want := "[backbone.stage0 backbone.stage1 backbone.stage2 backbone.stage3 backbone.stage4 neck+head]"
	for i := range names {
		if got := fmt.Sprint(names[i]); got != want {
			t.Errorf("predictor %d: stages %s, want %s", i, got, want)
		}
	}
}

// TestForwardAllocatesOnlyItsLogits: in steady state a batch-1 Forward on
// the blocked path allocates its logits tensor and nothing else (the
// memory check, buffers and kernels' tasks are reused): it once formatted
// a message and named every block on each call, 60 allocations and
// 6-17 µs per image.
func TestForwardAllocatesOnlyItsLogits(t *testing.T) {
	if race.Enabled {
		t.Skip("-race: sync.Pool drops pooled buffers at random, so they are re-allocated")
	}
	m := randomModel(t, Config{Arch: ArchZoo["s0"], Deploy: true, NumClasses: 10}, 23)
	p := m.NewPredictor()
	if p.blocked == nil {
		t.Skipf("no blocked path on this machine (%s kernels)", kernels.FastPath())
	}
	x := randomInput(1, 64, 64, 31)
	for _, th := range []int{1, 2} {
		old := kernels.SetThreads(th)
		if _, err := p.Forward(x); err != nil {
			t.Fatal(err)
		}
		want := testing.AllocsPerRun(20, func() { tensorSink = NewTensor(1, 10) })
		if got := testing.AllocsPerRun(20, func() { p.Forward(x) }); got > want {
			t.Errorf("%d threads: Forward allocates %v times per call, its logits tensor %v", th, got, want)
		}
		kernels.SetThreads(old)
	}
}

// tensorSink keeps TestForwardAllocatesOnlyItsLogits' reference tensor on
// the heap, as Forward's logits are.
var tensorSink *Tensor
