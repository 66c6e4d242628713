package evaluate

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/dist"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// memGather is an in-memory dist.Gatherer: ranks > 0 hand in their parts
// first, rank 0 collects them.
type memGather struct {
	rank  int
	parts map[string][][]byte
}

func (g *memGather) Gather(name string, part []byte) ([][]byte, error) {
	g.parts[name][g.rank] = part
	if g.rank != 0 {
		return nil, nil
	}
	return g.parts[name], nil
}

// Predictions sharded by DefaultSampler over 1–4 ranks and collected give
// the single run's predictions (byte for byte as --out) and metrics.
func TestCollectEqualsSingleRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, classes = 11, 6
	all := make([]Prediction, n)
	for i := range all {
		scores := make([]float32, classes)
		var sum float32
		for j := range scores {
			scores[j] = rng.Float32()
			sum += scores[j]
		}
		for j := range scores {
			scores[j] /= sum
		}
		gt := rng.IntN(classes)
		if i == 4 {
			gt = -1 // no ground truth: in --out, not in the metrics
		}
		all[i] = Prediction{SampleIdx: i, ImgPath: fmt.Sprintf("img%d.jpg", i), GTLabel: gt, PredLabel: TopK(scores, 1)[0], PredScore: scores, NumClasses: classes,
			Meta: imagenet.Meta{OriShape: [2]int{300, 400}, ImgShape: [2]int{224, 224}, ScaleFactor: [2]float64{0.75, 0.74}, Scaled: true}}
	}
	newEv := func() *Evaluator {
		ev, err := New(NewAccuracy(1, 5), NewSingleLabelMetric())
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	single := newEv()
	for i := range all {
		if all[i].GTLabel >= 0 {
			single.ProcessSample(all[i].Sample())
		}
	}
	want, err := single.Compute()
	if err != nil {
		t.Fatal(err)
	}
	wantOut, _ := EncodeResults(all)
	skip := 7 // skipped as invalid by its rank
	for world := 1; world <= 4; world++ {
		g := map[string][][]byte{"results": make([][]byte, world), "skipped": make([][]byte, world)}
		var got *Result
		for r := world - 1; r >= 0; r-- {
			s := dist.Sampler{N: n, Rank: r, WorldSize: world, RoundUp: true}
			res := &Result{}
			for _, i := range s.Indices() {
				if i == skip {
					res.Skipped = append(res.Skipped, imagenet.SampleError{Sample: imagenet.Sample{Index: i, Path: all[i].ImgPath}, Err: errors.New("corrupt")})
					continue
				}
				res.Predictions = append(res.Predictions, all[i])
			}
			out, err := Collect(&memGather{rank: r, parts: g}, s, newEv(), res)
			if err != nil {
				t.Fatal(err)
			}
			if r != 0 && out != nil {
				t.Fatalf("rank %d got a result", r)
			}
			got = out
		}
		var keep []Prediction
		for _, p := range all {
			if p.SampleIdx != skip {
				keep = append(keep, p)
			}
		}
		wantOut, _ = EncodeResults(keep)
		gotOut, _ := EncodeResults(got.Predictions)
		if !bytes.Equal(gotOut, wantOut) {
			t.Errorf("world %d: the merged --out differs from the single run's", world)
		}
		if len(got.Skipped) != 1 || got.Skipped[0].Error() != "sample 7 (img7.jpg): corrupt" {
			t.Errorf("world %d: skipped %v", world, got.Skipped)
		}
		ev := newEv()
		for i := range keep {
			if keep[i].GTLabel >= 0 {
				ev.ProcessSample(keep[i].Sample())
			}
		}
		want, _ = ev.Compute()
		if !reflect.DeepEqual(got.Metrics, want) {
			t.Errorf("world %d: metrics %v, single %v", world, got.Metrics, want)
		}
	}
}
