package dist

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"
)

// samplerCase is one entry of testdata/dist/sampler.json, made by
// upstream mmengine's DefaultSampler and collect_results_cpu
// (testdata/dist/gen_sampler.py).
type samplerCase struct {
	N         int     `json:"n"`
	WorldSize int     `json:"world_size"`
	Shuffle   bool    `json:"shuffle"`
	Seed      int64   `json:"seed"`
	RoundUp   bool    `json:"round_up"`
	Epoch     int     `json:"epoch"`
	Ranks     [][]int `json:"ranks"`
	Collected []int   `json:"collected"`
}

func loadSamplerCases(t *testing.T) []samplerCase {
	t.Helper()
	data, err := os.ReadFile("../../testdata/dist/sampler.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []samplerCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases in sampler.json")
	}
	return cases
}

func TestSamplerMatchesMMEngine(t *testing.T) {
	for _, c := range loadSamplerCases(t) {
		name := fmt.Sprintf("n%d_w%d_shuffle%v_seed%d_roundup%v_epoch%d", c.N, c.WorldSize, c.Shuffle, c.Seed, c.RoundUp, c.Epoch)
		t.Run(name, func(t *testing.T) {
			parts := make([][]int, c.WorldSize)
			for r := 0; r < c.WorldSize; r++ {
				s := &Sampler{N: c.N, Rank: r, WorldSize: c.WorldSize, Shuffle: c.Shuffle, Seed: c.Seed, Epoch: c.Epoch, RoundUp: c.RoundUp}
				got := s.Indices()
				if !slices.Equal(got, c.Ranks[r]) {
					t.Fatalf("rank %d: got %v, mmengine %v", r, got, c.Ranks[r])
				}
				if s.NumSamples() != len(got) {
					t.Errorf("rank %d: NumSamples %d, Indices has %d", r, s.NumSamples(), len(got))
				}
				parts[r] = got
			}
			merged, err := Interleave(parts, c.N)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(merged, c.Collected) {
				t.Fatalf("Interleave: got %v, collect_results_cpu %v", merged, c.Collected)
			}
		})
	}
}

// Without shuffling, the merged parts are the dataset in order, whatever
// the world size: what makes a distributed run equal a single one.
func TestInterleaveRestoresDatasetOrder(t *testing.T) {
	for n := 1; n <= 40; n++ {
		for w := 1; w <= 9; w++ {
			for _, roundUp := range []bool{true, false} {
				var parts [][]int
				for r := 0; r < w; r++ {
					parts = append(parts, (&Sampler{N: n, Rank: r, WorldSize: w, RoundUp: roundUp}).Indices())
				}
				got, err := Interleave(parts, n)
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range got {
					if v != i {
						t.Fatalf("n=%d w=%d round_up=%v: merged %v", n, w, roundUp, got)
					}
				}
			}
		}
	}
}

func TestInterleaveMissingResults(t *testing.T) {
	if _, err := Interleave([][]int{{0, 2}, {1}}, 4); err == nil {
		t.Fatal("want an error for 3 results of 4 samples")
	}
}

// torch.Generator().manual_seed(0); torch.randperm(10) on PyTorch 1.13.
func TestRandPermTorch(t *testing.T) {
	want := []int{4, 1, 7, 5, 3, 9, 0, 8, 6, 2}
	if got := RandPerm(10, 0); !slices.Equal(got, want) {
		t.Fatalf("got %v, torch %v", got, want)
	}
}
