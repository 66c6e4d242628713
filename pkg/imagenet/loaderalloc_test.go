package imagenet

import (
	"math/rand/v2"
	"testing"

	"github.com/mobileone-go/mobileone/internal/race"
)

// TestLoaderSampleAllocs: past warm-up, a worker's per-sample path (the
// MobileOne test pipeline with its fused resize+crop, normalization into a
// recycled tensor, the reseeded sample RNG, and collate's recycling of the
// tensor) allocates nothing; only the decoder, stubbed out here, does.
func TestLoaderSampleAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("sync.Pool (the resize's scratch buffers) drops items at random under -race")
	}
	for _, c := range []struct{ w, h int }{{500, 375}, {375, 500}, {224, 224}} {
		src := randomImage(rand.New(rand.NewPCG(41, 42)), c.w, c.h)
		l := &Loader{
			pipe:    mustPipeline(t, testPipelineSteps),
			norm:    ImageNetNormalizer(),
			opts:    LoaderOptions{Decode: func(string) (*Image, error) { return src, nil }},
			tensors: make(chan []float32, 1),
		}
		w := l.newWorker()
		s := Sample{Path: "x.JPEG", Index: 3}
		run := func() {
			r := w.load(s)
			if r.err != nil || r.w != 224 || r.h != 224 {
				t.Fatalf("load: %v %dx%d", r.err, r.w, r.h)
			}
			l.tensors <- r.data
		}
		run()
		if n := testing.AllocsPerRun(50, run); n != 0 {
			t.Errorf("%dx%d: %v allocations per sample, want 0", c.w, c.h, n)
		}
		// The reused buffers give the sequential result.
		r := w.load(s)
		want, err := mustPipeline(t, testPipelineSteps).Apply(src.Clone(), nil)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 3*224*224)
		ImageNetNormalizer().ToCHW(x, want)
		for i := range x {
			if x[i] != r.data[i] {
				t.Fatalf("%dx%d: element %d differs from sequential preprocessing", c.w, c.h, i)
			}
		}
	}
}

// TestLoaderWorkerRNG: the worker's reseeded RNG gives SampleRNG's stream.
func TestLoaderWorkerRNG(t *testing.T) {
	l := &Loader{opts: LoaderOptions{Seed: 99, Epoch: 7}}
	w := l.newWorker()
	for _, idx := range []int{0, 5, 1 << 20, 12345} {
		ref := SampleRNG(99, 7, idx)
		rng := w.sampleRNG(idx)
		for k := 0; k < 5; k++ {
			if a, b := rng.Uint64(), ref.Uint64(); a != b {
				t.Fatalf("index %d draw %d: %d != %d", idx, k, a, b)
			}
		}
	}
}
