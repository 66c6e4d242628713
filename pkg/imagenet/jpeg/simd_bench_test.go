package jpeg

import (
	"math/rand/v2"
	"testing"
)

// benchBothPaths runs f as sub-benchmark "avx2" (when the kernels are
// there) and "go" (with them disabled).
func benchBothPaths(b *testing.B, f func(b *testing.B)) {
	if useAVX2 {
		b.Run("avx2", f)
	}
	b.Run("go", func(b *testing.B) {
		defer disableAVX2()()
		f(b)
	})
}

// BenchmarkIDCT transforms 1024 blocks of the "photo" test case (sparse,
// photo-sized coefficients) per op; ns/block is the figure to read.
func BenchmarkIDCT(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const n = 1024
	blks := make([][64]int16, n)
	qs := make([][64]int32, n)
	fill := idctCases()[0].fill
	for i := range blks {
		fill(r, &blks[i], &qs[i])
	}
	out := make([]byte, 64*8)
	benchBothPaths(b, func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j := range blks {
				idct(&blks[j], &qs[j], out, (j&7)*8, 64)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*n), "ns/block")
	})
}

// BenchmarkYccRow converts a 640-pixel row per op.
func BenchmarkYccRow(b *testing.B) {
	const w = 640
	r := rand.New(rand.NewPCG(2, 2))
	yy, cb, cr, out := make([]byte, w), make([]byte, w), make([]byte, w), make([]byte, 3*w)
	for i := range yy {
		yy[i], cb[i], cr[i] = byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())
	}
	benchBothPaths(b, func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			yccRow(yy, cb, cr, out)
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*w), "ns/pixel")
	})
}

// BenchmarkH2V2Fancy upsamples a 250-sample chroma row to 500 per op.
func BenchmarkH2V2Fancy(b *testing.B) {
	const w = 250
	r := rand.New(rand.NewPCG(3, 3))
	in0, in1, out := make([]byte, w), make([]byte, w), make([]byte, 2*w)
	for i := range in0 {
		in0[i], in1[i] = byte(r.Uint32()), byte(r.Uint32())
	}
	benchBothPaths(b, func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			h2v2Fancy(in0, in1, out)
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*2*w), "ns/sample")
	})
}
