package evaluate

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// 13 and 19 correct of 30 give manifest.dataset.expected's values: the
// float32 product 13 * float32(100/30), as mmpretrain computes it.
func TestAccuracyFloat32(t *testing.T) {
	a := &Accuracy{Topk: []int{1, 5}, Thrs: []Threshold{Thr(0)}}
	ev, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	const n, k = 30, 6
	scores := make([]float32, n*k)
	labels := make([]int, n)
	for i := range n {
		row := scores[i*k : (i+1)*k]
		for c := range row {
			row[c] = float32(k-c) / 100 // class 0 best, class 5 worst
		}
		switch {
		case i < 13:
			labels[i] = 0 // top-1
		case i < 19:
			labels[i] = 4 // top-5
		default:
			labels[i] = 5 // missed
		}
	}
	if err := ev.Process(scores, k, labels); err != nil {
		t.Fatal(err)
	}
	got, err := ev.Compute()
	if err != nil {
		t.Fatal(err)
	}
	want := []Metric{{Name: "accuracy/top1", Value: 43.33333206176758}, {Name: "accuracy/top5", Value: 63.33333206176758}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A label among the top k counts only with a score > 0 (thrs=0.).
func TestAccuracyScoreMustBePositive(t *testing.T) {
	ev, _ := New(&Accuracy{Topk: []int{1, 2}, Thrs: []Threshold{Thr(0)}})
	if err := ev.Process([]float32{1, 0, 0}, 3, []int{1}); err != nil {
		t.Fatal(err)
	}
	got, err := ev.Compute()
	if err != nil || got[0].Value != 0 || got[1].Value != 0 {
		t.Errorf("got %v (%v), want 0 and 0", got, err)
	}
	ev, _ = New(NewAccuracy(5))
	if err := ev.Process([]float32{1, 2}, 2, []int{0}); err == nil {
		t.Error("top-5 over 2 classes: no error")
	}
}

func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 40; n++ {
		row := make([]float32, n)
		for i := range row {
			row[i] = float32(r.IntN(5)) // many ties
		}
		for k := 1; k <= n+1; k++ {
			got := TopK(row, k)
			// reference: stable selection of the best remaining
			var want []int
			used := make([]bool, n)
			for len(want) < min(k, n) {
				best := -1
				for i, v := range row {
					if !used[i] && (best < 0 || v > row[best]) {
						best = i
					}
				}
				used[best] = true
				want = append(want, best)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("TopK(%v, %d) = %v, want %v", row, k, got, want)
			}
		}
	}
}

// With TTA the scores are the mean of the flipped and the original view's
// softmax, and the flipped view's best class is reported (upstream's
// data_samples[0].new()).
func TestScoresTTA(t *testing.T) {
	cfg := model.Config{Arch: model.Arch{NumBlocks: [4]int{1, 1, 1, 1}, WidthFactor: [4]float64{0.25, 0.25, 0.25, 0.25},
		NumConvBranches: [4]int{1, 1, 1, 1}}, NumClasses: 7, InChannels: 128, Deploy: true}
	m, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, e := range m.StateDict() {
		if e.Tensor == nil {
			continue
		}
		for i := range e.Tensor.Data {
			e.Tensor.Data[i] = float32(r.NormFloat64() * 0.3)
		}
	}
	const n, h, w = 3, 32, 40
	b := &imagenet.Batch{N: n, H: h, W: w, Data: make([]float32, n*3*h*w)}
	for i := range b.Data {
		b.Data[i] = float32(r.NormFloat64())
	}
	flipped := &imagenet.Batch{N: n, H: h, W: w, Data: make([]float32, len(b.Data))}
	for row := 0; row < n*3*h; row++ {
		for x := 0; x < w; x++ {
			flipped.Data[row*w+x] = b.Data[row*w+w-1-x]
		}
	}
	orig, _ := Scores(m, b, false)
	flip, _ := Scores(m, flipped, false)
	got, labels, err := scores(m, b, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if want := (flip[i] + orig[i]) / 2; got[i] != want {
			t.Fatalf("score %d = %v, want %v", i, got[i], want)
		}
	}
	for i := range n {
		if want := TopK(flip[i*7:(i+1)*7], 1)[0]; labels[i] != want {
			t.Errorf("sample %d: label %d, want the flipped view's %d", i, labels[i], want)
		}
	}
	// chunking does not change anything
	c, l2, err := chunkedScores(m, b, true, 2)
	if err != nil || !reflect.DeepEqual(c, got) || !reflect.DeepEqual(l2, labels) {
		t.Errorf("chunked scores differ (%v)", err)
	}
}
