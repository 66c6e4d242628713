package imagenet

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

func imagenetFiles(b testing.TB) [][]byte {
	root := fixtures.Shared(b, "imagenet/val")
	entries, err := os.ReadDir(root)
	if err != nil {
		b.Fatal(err)
	}
	var files [][]byte
	for _, e := range entries {
		files = append(files, readFile(b, filepath.Join(root, e.Name())))
	}
	if len(files) != 30 {
		b.Fatalf("%d files, want 30", len(files))
	}
	return files
}

// BenchmarkPreprocess measures the test pipeline per image on the 30
// shared ImageNet JPEGs and on the serve benchmark's photos: decode
// (pkg/imagenet/jpeg), decode+resize+crop (with a full decode, and with
// the pipeline's partial one) and the full path including normalization.
// Reported as images/s.
func BenchmarkPreprocess(b *testing.B) {
	b.Run("imagenet", func(b *testing.B) { benchPreprocess(b, imagenetFiles(b)) })
	b.Run("photos", func(b *testing.B) { benchPreprocess(b, servePhotos(b)) })
}

// servePhotos returns the JPEGs make bench-serve sends: two 640x427 4:4:4
// photos and a 280x360 one, twice.
func servePhotos(b testing.TB) [][]byte {
	dir := filepath.Dir(fixtures.Shared(b, "inputs/images/sklearn_china.jpg"))
	var files [][]byte
	for _, name := range []string{"skimage_rocket.jpg", "sklearn_china.jpg", "gomod_go-turns-two-280x360.jpeg", "gomod_go-turns-two-280x360.jpeg"} {
		files = append(files, readFile(b, filepath.Join(dir, name)))
	}
	return files
}

func benchPreprocess(b *testing.B, files [][]byte) {
	p := mustPipeline(b, testPipelineSteps)
	norm := ImageNetNormalizer()
	x := make([]float32, 3*224*224)
	run := func(b *testing.B, f func(data []byte)) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			f(files[i%len(files)])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	}
	b.Run("decode", func(b *testing.B) {
		run(b, func(data []byte) {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("decode+resize+crop", func(b *testing.B) {
		run(b, func(data []byte) {
			m, err := Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Apply(m, nil); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("pipeline-decode+resize+crop", func(b *testing.B) {
		run(b, func(data []byte) {
			m, err := p.Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Apply(m, nil); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("decode+resize+crop+normalize", func(b *testing.B) {
		run(b, func(data []byte) {
			m, err := Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			m, err = p.Apply(m, nil)
			if err != nil {
				b.Fatal(err)
			}
			norm.ToCHW(x, m)
		})
	})
}

// BenchmarkResize: the ImageNet shape 500×375 → 341×256 with a reused plan.
func BenchmarkResize(b *testing.B) {
	src := randomImage(rand.New(rand.NewPCG(1, 1)), 500, 375)
	dst := NewImage(341, 256)
	r := NewResizer(341, 256, 500, 375)
	b.SetBytes(int64(len(src.Pix)))
	b.ReportAllocs()
	for b.Loop() {
		r.Resize(dst, src)
	}
}

// BenchmarkLoader: the whole loader on the 30 JPEGs (decode, test
// pipeline, normalization, collation), batch 8, with 1 and 2 workers.
// Reports images/s (wall clock) and the process CPU time per image.
func BenchmarkLoader(b *testing.B) {
	ds, err := NewDataset(DatasetConfig{Type: "ImageNet", DataRoot: fixtures.Shared(b, "imagenet"), Split: "val"})
	if err != nil {
		b.Fatal(err)
	}
	p := mustPipeline(b, testPipelineSteps)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			n := 0
			cpu0 := processCPU()
			for b.Loop() {
				l := NewLoader(ds, nil, p, ImageNetNormalizer(), 8, workers, LoaderOptions{})
				for {
					bt, err := l.Next(context.Background())
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n += bt.N
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(float64(processCPU()-cpu0)/1e6/float64(n), "cpu-ms/image")
		})
	}
}
