package imagenet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// smallPipeline is the test pipeline at a small size (fast on 2 cores).
var smallPipeline = []map[string]any{
	{"type": "LoadImageFromFile"},
	{"type": "ResizeEdge", "scale": 20.0, "edge": "short", "backend": "pillow"},
	{"type": "CenterCrop", "crop_size": 16.0},
	{"type": "PackInputs"},
}

// trainPipeline is a small version of the s0 train pipeline.
var trainPipeline = []map[string]any{
	{"type": "LoadImageFromFile"},
	{"type": "RandomResizedCrop", "scale": 16.0, "backend": "pillow"},
	{"type": "RandomFlip", "prob": 0.5, "direction": "horizontal"},
	{"type": "PackInputs"},
}

// makeFolderDataset writes n random PNGs of varying size into 3 classes.
func makeFolderDataset(t testing.TB, n int) *Dataset {
	t.Helper()
	root := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < n; i++ {
		writePNG(t, filepath.Join(root, "train", fmt.Sprintf("c%d", i%3), fmt.Sprintf("%03d.png", i)), 18+rng.IntN(30), 18+rng.IntN(30), rng)
	}
	ds, err := NewDataset(DatasetConfig{Type: "CustomDataset", DataRoot: root, DataPrefix: "train"})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func mustPipeline(t testing.TB, steps []map[string]any) *Pipeline {
	t.Helper()
	p, err := NewPipeline(steps)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// referenceBatches preprocesses sequentially, without the loader.
func referenceBatches(t testing.TB, ds *Dataset, indices []int, p *Pipeline, batch int, seed uint64, epoch int) [][]float32 {
	t.Helper()
	var out [][]float32
	norm := ImageNetNormalizer()
	for lo := 0; lo < len(indices); lo += batch {
		var data []float32
		for _, i := range indices[lo:min(lo+batch, len(indices))] {
			s := ds.Samples[i]
			img, err := DecodeFile(s.Path)
			if err != nil {
				t.Fatal(err)
			}
			img, err = p.Apply(img, SampleRNG(seed, epoch, s.Index))
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float32, 3*img.Width*img.Height)
			norm.ToCHW(x, img)
			data = append(data, x...)
		}
		out = append(out, data)
	}
	return out
}

func drain(t testing.TB, l *Loader) []*Batch {
	t.Helper()
	var bs []*Batch
	for {
		b, err := l.Next(context.Background())
		if err == io.EOF {
			return bs
		}
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
}

// TestLoaderOrder: batches equal sequential preprocessing, in dataset
// order or a shuffled index order, for any worker count and in-flight
// bound, with deterministic and random pipelines.
func TestLoaderOrder(t *testing.T) {
	ds := makeFolderDataset(t, 23)
	shuffled := rand.New(rand.NewPCG(1, 1)).Perm(len(ds.Samples))
	for _, pc := range []struct {
		name  string
		steps []map[string]any
	}{{"test", smallPipeline}, {"train", trainPipeline}} {
		p := mustPipeline(t, pc.steps)
		for _, order := range []struct {
			name    string
			indices []int
		}{{"dataset", nil}, {"shuffled", shuffled}} {
			idx := order.indices
			if idx == nil {
				for i := range ds.Samples {
					idx = append(idx, i)
				}
			}
			want := referenceBatches(t, ds, idx, p, 5, 42, 3)
			for _, workers := range []int{1, 2, 3, 8} {
				for _, inFlight := range []int{1, 3} {
					t.Run(fmt.Sprintf("%s/%s/w%d/f%d", pc.name, order.name, workers, inFlight), func(t *testing.T) {
						l := NewLoader(ds, order.indices, p, ImageNetNormalizer(), 5, workers, LoaderOptions{Seed: 42, Epoch: 3, InFlight: inFlight})
						defer l.Close()
						bs := drain(t, l)
						if len(bs) != len(want) || l.NumBatches() != 5 {
							t.Fatalf("%d batches, want %d", len(bs), len(want))
						}
						for i, b := range bs {
							if !slices.Equal(b.Data, want[i]) {
								t.Fatalf("batch %d differs from sequential preprocessing", i)
							}
							if b.H != 16 || b.W != 16 || b.N != len(b.Labels) || len(b.Data) != b.N*3*16*16 {
								t.Fatalf("batch %d shape N=%d H=%d W=%d", i, b.N, b.H, b.W)
							}
							for j, s := range b.Samples {
								if s != ds.Samples[idx[5*i+j]] || b.Labels[j] != s.Label {
									t.Fatalf("batch %d slot %d: %+v", i, j, s)
								}
							}
						}
					})
				}
			}
		}
	}
	// A different epoch gives different augmentations.
	p := mustPipeline(t, trainPipeline)
	a := referenceBatches(t, ds, []int{0, 1, 2, 3}, p, 4, 42, 3)
	b := referenceBatches(t, ds, []int{0, 1, 2, 3}, p, 4, 42, 4)
	if slices.Equal(a[0], b[0]) {
		t.Error("epochs 3 and 4 gave identical random crops")
	}
}

func TestLoaderDropLast(t *testing.T) {
	ds := makeFolderDataset(t, 7)
	l := NewLoader(ds, nil, mustPipeline(t, smallPipeline), ImageNetNormalizer(), 3, 2, LoaderOptions{DropLast: true})
	defer l.Close()
	if bs := drain(t, l); len(bs) != 2 || bs[1].N != 3 {
		t.Fatalf("DropLast: %d batches", len(bs))
	}
}

// TestLoaderBadSamples: a corrupt image and a missing file fail with an
// error naming the file, or are skipped and listed with SkipInvalid.
func TestLoaderBadSamples(t *testing.T) {
	ds := makeFolderDataset(t, 9)
	corrupt, missing := ds.Samples[4].Path, ds.Samples[7].Path
	data := readFile(t, corrupt)
	if err := os.WriteFile(corrupt, data[:len(data)/2], 0o644); err != nil { // truncated PNG
		t.Fatal(err)
	}
	if err := os.Remove(missing); err != nil {
		t.Fatal(err)
	}
	p := mustPipeline(t, smallPipeline)

	l := NewLoader(ds, nil, p, ImageNetNormalizer(), 4, 3, LoaderOptions{})
	if _, err := l.Next(context.Background()); err != nil {
		t.Fatalf("first batch: %v", err)
	}
	_, err := l.Next(context.Background())
	var se *SampleError
	if !errors.As(err, &se) || se.Sample.Path != corrupt || !strings.Contains(err.Error(), corrupt) {
		t.Fatalf("corrupt sample: %v", err)
	}
	var fe FormatError
	if !errors.As(err, &fe) {
		t.Errorf("corrupt PNG error is not a FormatError: %v", err)
	}
	if _, err2 := l.Next(context.Background()); err2 != err {
		t.Errorf("error not sticky: %v", err2)
	}
	l.Close()

	// Missing file alone.
	l = NewLoader(ds, []int{7}, p, ImageNetNormalizer(), 4, 1, LoaderOptions{})
	_, err = l.Next(context.Background())
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	l.Close()

	l = NewLoader(ds, nil, p, ImageNetNormalizer(), 4, 3, LoaderOptions{SkipInvalid: true})
	defer l.Close()
	bs := drain(t, l)
	n := 0
	for _, b := range bs {
		n += b.N
	}
	sk := l.Skipped()
	if n != 7 || len(sk) != 2 || sk[0].Sample.Path != corrupt || sk[1].Sample.Path != missing {
		t.Fatalf("SkipInvalid: %d samples, skipped %v", n, sk)
	}
	if len(bs[1].Skipped) != 2 || bs[1].N != 2 {
		t.Errorf("batch 1: N=%d skipped %v", bs[1].N, bs[1].Skipped)
	}
}

// TestLoaderCancel: a cancelled context stops Next; Close stops every
// goroutine.
func TestLoaderCancel(t *testing.T) {
	ds := makeFolderDataset(t, 12)
	before := runtime.NumGoroutine()
	block := make(chan struct{})
	opts := LoaderOptions{Decode: func(path string) (*Image, error) {
		<-block
		return DecodeFile(path)
	}}
	l := NewLoader(ds, nil, mustPipeline(t, smallPipeline), ImageNetNormalizer(), 2, 3, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with expired context: %v", err)
	}
	close(block)
	done := make(chan struct{})
	go func() { l.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
	if _, err := l.Next(context.Background()); err == nil {
		t.Error("Next after cancel returned no error")
	}
	time.Sleep(10 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+1 {
		t.Errorf("goroutines: %d before, %d after Close", before, after)
	}
}

// TestLoaderShapeMismatch: without a crop, differently sized samples cannot
// be collated; the error names the sample.
func TestLoaderShapeMismatch(t *testing.T) {
	ds := makeFolderDataset(t, 4)
	l := NewLoader(ds, nil, mustPipeline(t, []map[string]any{{"type": "LoadImageFromFile"}}), ImageNetNormalizer(), 4, 2, LoaderOptions{})
	defer l.Close()
	_, err := l.Next(context.Background())
	if err == nil || !strings.Contains(err.Error(), "differs from the batch") {
		t.Fatalf("got %v", err)
	}
}

// TestLoaderImageNetShared runs the real test pipeline over the 30 shared
// ImageNet JPEGs in batches of 8 (as the fixture was evaluated).
func TestLoaderImageNetShared(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: decodes 30 JPEGs (-short)")
	}
	ds, err := NewDataset(DatasetConfig{Type: "ImageNet", DataRoot: fixtures.Shared(t, "imagenet"), Split: "val"})
	if err != nil {
		t.Fatal(err)
	}
	l := NewLoader(ds, nil, mustPipeline(t, testPipelineSteps), ImageNetNormalizer(), 8, 2, LoaderOptions{})
	defer l.Close()
	bs := drain(t, l)
	if len(bs) != 4 || bs[3].N != 6 || bs[0].H != 224 || bs[0].W != 224 {
		t.Fatalf("%d batches", len(bs))
	}
}

// TestLoaderRecycle: batches whose tensors are handed back with Recycle
// are the same as without (the reused tensor is refilled, the last and
// smaller batch included), and the tensor is actually reused.
func TestLoaderRecycle(t *testing.T) {
	ds := makeFolderDataset(t, 23)
	p := mustPipeline(t, smallPipeline)
	var idx []int
	for i := range ds.Samples {
		idx = append(idx, i)
	}
	want := referenceBatches(t, ds, idx, p, 5, 42, 3)
	l := NewLoader(ds, nil, p, ImageNetNormalizer(), 5, 2, LoaderOptions{Seed: 42, Epoch: 3})
	defer l.Close()
	var prev *float32
	reused := 0
	for i := 0; ; i++ {
		b, err := l.Next(context.Background())
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d batches, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(b.Data, want[i]) {
			t.Fatalf("batch %d differs from sequential preprocessing", i)
		}
		if &b.Data[:1][0] == prev {
			reused++
		}
		prev = &b.Data[:1][0]
		for j := range b.Data {
			b.Data[j] = float32(math.NaN()) // a refill must overwrite it all
		}
		l.Recycle(b)
		if b.Data != nil {
			t.Fatal("Recycle left the batch its tensor")
		}
	}
	if reused < len(want)-1 {
		t.Fatalf("the recycled tensor was reused for %d of %d batches", reused, len(want)-1)
	}
}
