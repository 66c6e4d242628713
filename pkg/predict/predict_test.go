package predict

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/internal/race"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

func TestRank(t *testing.T) {
	scores := []float32{0.1, 0.3, 0.3, 0.05, 0.25}
	r := Rank("x.png", scores, []string{"a", "b", "c"}, 3)
	// torch.topk: ties keep the lower index first; class 4 has no name.
	want := []Class{{1, 0.3, "b"}, {2, 0.3, "c"}, {4, 0.25, "4"}}
	if r.Image != "x.png" || r.PredLabel != 1 || r.PredScore != 0.3 || r.PredClass != "b" || len(r.TopK) != 3 {
		t.Fatalf("got %+v", r)
	}
	for i := range want {
		if r.TopK[i] != want[i] {
			t.Errorf("topk[%d] = %+v, want %+v", i, r.TopK[i], want[i])
		}
	}
	if got := Rank("x", scores, nil, 99); len(got.TopK) != len(scores) {
		t.Errorf("topK beyond the classes: %d entries", len(got.TopK))
	}
}

// The tiny demo model on the committed photos: the scores of a batch
// equal those of its images one by one, and the best class is upstream's
// (pkg/cmd/infer's upstreamTiny: "dog" 0.65378 for skimage_chelsea.png).
func TestScoresBatchEqualsSingles(t *testing.T) {
	cfg, mc, err := setup.Load(fixtures.Testdata(t, "demo/mobileone-tiny_demo_deploy.py"), nil)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := setup.LoadModel(context.Background(), mc, fixtures.Testdata(t, "checkpoint/tiny_deploy.pth"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := setup.Pipeline(cfg, "test_dataloader.dataset.pipeline", nil)
	if err != nil {
		t.Fatal(err)
	}
	norm, err := setup.Normalizer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var inputs []Input
	for _, name := range []string{"imagenet/skimage_chelsea.png", "imagenet/skimage_camera.png", "imagenet/skimage_chelsea.png"} {
		img, err := imagenet.DecodeFile(fixtures.Testdata(t, name))
		if err != nil {
			t.Fatal(err)
		}
		in, err := Preprocess(name, img, pipe, norm)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, in)
	}
	m := loaded.Model.NewPredictor()
	batch, err := Scores(m, inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		one, err := Scores(m, []Input{in})
		if err != nil {
			t.Fatal(err)
		}
		for j := range one[0] {
			if one[0][j] != batch[i][j] {
				t.Fatalf("image %d class %d: batch %v, alone %v", i, j, batch[i][j], one[0][j])
			}
		}
	}
	r := Rank(inputs[0].Name, batch[0], loaded.Classes, 5)
	if r.PredClass != "dog" || math.Abs(float64(r.PredScore)-0.6537839770317078) > 2e-5 {
		t.Errorf("got %s %.7f, upstream dog 0.6537840", r.PredClass, r.PredScore)
	}

	// A released input's tensor is reused by the next Preprocess, which
	// overwrites all of it: the camera again gives the same tensor.
	want := append([]float32(nil), inputs[1].CHW...)
	img, err := imagenet.DecodeFile(fixtures.Testdata(t, "imagenet/skimage_camera.png"))
	if err != nil {
		t.Fatal(err)
	}
	// sync.Pool keeps a Put item in the P's private slot, which a Get on
	// another P does not see, and drops items at the second GC after: one
	// P (any preemption or syscall could otherwise move the goroutine to
	// another, as it did on a loaded machine) and no GC between a Release
	// and the Preprocess that should reuse its tensor.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	reused := 0
	for i := range inputs {
		for j := range inputs[i].CHW {
			inputs[i].CHW[j] = float32(math.NaN())
		}
		buf := &inputs[i].CHW[0]
		inputs[i].Release()
		if inputs[i].CHW != nil {
			t.Fatal("Release left the input its tensor")
		}
		again, err := Preprocess("camera", img, pipe, norm)
		if err != nil {
			t.Fatal(err)
		}
		if &again.CHW[0] == buf {
			reused++
		}
		for j := range want {
			if again.CHW[j] != want[j] {
				t.Fatalf("input %d: value %d is %v after reuse, want %v", i, j, again.CHW[j], want[j])
			}
		}
		again.Release()
	}
	// sync.Pool drops items at random under -race.
	if reused == 0 && !race.Enabled {
		t.Error("no released tensor was reused")
	}
}
