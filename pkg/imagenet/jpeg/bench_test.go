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
	runPairedBench(b, benchFiles(b), "this", "stdlib", func(f []byte) error { _, err := Decode(f); return err },
		func(f []byte) error { _, err := stdjpeg.Decode(bytes.NewReader(f)); return err })
}

// BenchmarkDecodeAVX2Paired is BenchmarkDecodeImageNetPaired for this
// decoder with its AVX2 kernels ("avx2") and without ("go"), on the serve
// photos and the ImageNet files.
func BenchmarkDecodeAVX2Paired(b *testing.B) {
	if !useAVX2 {
		b.Skip("no AVX2 kernels here (purego build, non-amd64, or a CPU without AVX2)")
	}
	serve := make([][]byte, len(servePhotos))
	for i, name := range servePhotos {
		var err error
		if serve[i], err = os.ReadFile(fixtures.Shared(b, "inputs/images/"+name)); err != nil {
			b.Fatal(err)
		}
	}
	decode := func(f []byte) error { _, err := Decode(f); return err }
	decodeGo := func(f []byte) error { defer disableAVX2()(); return decode(f) }
	b.Run("serve", func(b *testing.B) { runPairedBench(b, serve, "avx2", "go", decode, decodeGo) })
	b.Run("imagenet", func(b *testing.B) { runPairedBench(b, benchFiles(b), "avx2", "go", decode, decodeGo) })
}

// runPairedBench decodes each file alternately with decA and decB, keeps
// per file and decoder the fastest of the b.N runs, and reports both
// decoders' images/s and MB/s over the set and the speedup of A over B.
func runPairedBench(b *testing.B, files [][]byte, nameA, nameB string, decA, decB func([]byte) error) {
	total := 0
	for _, f := range files {
		total += len(f)
	}
	minA := make([]float64, len(files))
	minB := make([]float64, len(files))
	for i := range files {
		minA[i], minB[i] = 1e9, 1e9
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, f := range files {
			t0 := nowSeconds()
			if err := decA(f); err != nil {
				b.Fatal(err)
			}
			t1 := nowSeconds()
			if err := decB(f); err != nil {
				b.Fatal(err)
			}
			t2 := nowSeconds()
			minA[j] = min(minA[j], t1-t0)
			minB[j] = min(minB[j], t2-t1)
		}
	}
	var tA, tB float64
	for j := range files {
		tA += minA[j]
		tB += minB[j]
	}
	n := float64(len(files))
	mb := float64(total) / 1e6
	b.ReportMetric(n/tA, nameA+"-images/s")
	b.ReportMetric(n/tB, nameB+"-images/s")
	b.ReportMetric(mb/tA, nameA+"-MB/s")
	b.ReportMetric(mb/tB, nameB+"-MB/s")
	b.ReportMetric(tB/tA, "speedup")
}

var benchStart = time.Now()

func nowSeconds() float64 { return time.Since(benchStart).Seconds() }

// BenchmarkDecodeFile decodes the file named by $JPEG_BENCH_FILE (for
// bench/decode/run.sh, which times libjpeg-turbo on the same file).
func BenchmarkDecodeFile(b *testing.B) {
	path := os.Getenv("JPEG_BENCH_FILE")
	if path == "" {
		b.Skip("JPEG_BENCH_FILE is not set (bench/decode/run.sh sets it)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	runDecodeBench(b, [][]byte{data}, func(f []byte) error { _, err := Decode(f); return err })
}
