package jpeg

import (
	"bytes"
	stdjpeg "image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// benchFiles returns the 30 ImageNet validation JPEGs of the shared
// fixtures (real photos, about 500x375 at quality ~90), or skips.
func benchFiles(b *testing.B) [][]byte {
	dir := filepath.Dir(fixtures.Shared(b, "imagenet/val/ILSVRC2012_val_00000001.JPEG"))
	paths, err := filepath.Glob(filepath.Join(dir, "*.JPEG"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("no ImageNet JPEGs in %s", dir)
	}
	var files [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
	}
	return files
}

func runDecodeBench(b *testing.B, files [][]byte, dec func([]byte) error) {
	total := 0
	for _, f := range files {
		total += len(f)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files {
			if err := dec(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(files))/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkDecodeImageNet compares this decoder (full BGR output) with the
// standard library's image/jpeg (which stops at planar YCbCr) on the same
// files. MB/s counts compressed bytes.
func BenchmarkDecodeImageNet(b *testing.B) {
	files := benchFiles(b)
	b.Run("this", func(b *testing.B) {
		runDecodeBench(b, files, func(f []byte) error { _, err := Decode(f); return err })
	})
	b.Run("stdlib", func(b *testing.B) {
		runDecodeBench(b, files, func(f []byte) error { _, err := stdjpeg.Decode(bytes.NewReader(f)); return err })
	})
}

// servePhotos are the JPEGs among the serve benchmark's inputs (shared
// fixtures inputs/images: baseline 4:4:4 photos, 280x360 to 640x427).
var servePhotos = []string{"skimage_rocket.jpg", "sklearn_china.jpg", "gomod_go-turns-two-280x360.jpeg"}

// BenchmarkDecodeServePhotos decodes each of servePhotos (skipped without
// the shared fixtures).
func BenchmarkDecodeServePhotos(b *testing.B) {
	for _, name := range servePhotos {
		data, err := os.ReadFile(fixtures.Shared(b, "inputs/images/"+name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			runDecodeBench(b, [][]byte{data}, func(f []byte) error { _, err := Decode(f); return err })
		})
	}
}

// BenchmarkDecodeLarge uses the committed 1000x667 quality-90 fixture.
func BenchmarkDecodeLarge(b *testing.B) {
	data, err := os.ReadFile(fixtures.Testdata(b, "jpeg/images/large_1000x667_420_q90.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	files := [][]byte{data}
	b.Run("this", func(b *testing.B) {
		runDecodeBench(b, files, func(f []byte) error { _, err := Decode(f); return err })
	})
	b.Run("stdlib", func(b *testing.B) {
		runDecodeBench(b, files, func(f []byte) error { _, err := stdjpeg.Decode(bytes.NewReader(f)); return err })
	})
}

// BenchmarkDecodeImageNetPaired decodes each ImageNet file alternately
// with both decoders and keeps, per file and decoder, the fastest of the
// b.N runs: on a shared machine the minimum is the figure least disturbed
// by other processes. It reports images/s and MB/s (compressed bytes) of
// each decoder over the whole set, and their ratio.
func BenchmarkDecodeImageNetPaired(b *testing.B) {
	files := benchFiles(b)
	total := 0
	for _, f := range files {
		total += len(f)
	}
	minThis := make([]float64, len(files))
	minStd := make([]float64, len(files))
	for i := range files {
		minThis[i], minStd[i] = 1e9, 1e9
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, f := range files {
			t0 := nowSeconds()
			if _, err := Decode(f); err != nil {
				b.Fatal(err)
			}
			t1 := nowSeconds()
			if _, err := stdjpeg.Decode(bytes.NewReader(f)); err != nil {
				b.Fatal(err)
			}
			t2 := nowSeconds()
			minThis[j] = min(minThis[j], t1-t0)
			minStd[j] = min(minStd[j], t2-t1)
		}
	}
	var tThis, tStd float64
	for j := range files {
		tThis += minThis[j]
		tStd += minStd[j]
	}
	n := float64(len(files))
	mb := float64(total) / 1e6
	b.ReportMetric(n/tThis, "this-images/s")
	b.ReportMetric(n/tStd, "stdlib-images/s")
	b.ReportMetric(mb/tThis, "this-MB/s")
	b.ReportMetric(mb/tStd, "stdlib-MB/s")
	b.ReportMetric(tStd/tThis, "speedup")
}

var benchStart = time.Now()

func nowSeconds() float64 { return time.Since(benchStart).Seconds() }
