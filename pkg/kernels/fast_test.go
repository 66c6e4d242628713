package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/mobileone-go/mobileone/internal/race"
)

const guard = 16 // guard-band floats around every output

// paths runs fn on the assembly path (when this build and CPU have it) and
// on the portable one.
func paths(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	if useAVX512 {
		t.Run("avx512", fn)
	}
	if useAVX2 {
		t.Run("avx2", func(t *testing.T) {
			defer disableAVX512()()
			fn(t)
		})
	} else {
		t.Logf("no assembly kernels (%s): testing the portable path only", FastPath())
	}
	t.Run("go", func(t *testing.T) {
		defer disableAVX2()()
		fn(t)
	})
}

// withGuard returns a slice of n values embedded in NaN-free sentinel
// guard bands, and a check that the bands are untouched.
func withGuard(r *rand.Rand, n int) ([]float32, func(t *testing.T, what string)) {
	buf := randSlice(r, n+2*guard)
	const sentinel = float32(-12345.5)
	for i := 0; i < guard; i++ {
		buf[i], buf[n+guard+i] = sentinel, sentinel
	}
	return buf[guard : guard+n : guard+n], func(t *testing.T, what string) {
		t.Helper()
		for i := 0; i < guard; i++ {
			if buf[i] != sentinel || buf[n+guard+i] != sentinel {
				t.Fatalf("%s: guard band overwritten", what)
			}
		}
	}
}

func equalSlices(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(float64(a[i])) && math.IsNaN(float64(b[i]))) {
			return false
		}
	}
	return true
}

func TestMicroKernelsMatchGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skipf("no assembly kernels in this build or on this CPU (%s)", FastPath())
	}
	r := rand.New(rand.NewSource(10))
	for _, nr := range []int{8, 16} {
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257} {
			for _, ldb := range []int{16, 37} {
				for flags := 0; flags < 4; flags++ {
					const ldc = 21
					a, b := randSlice(r, 6*k), randSlice(r, (k-1)*ldb+16)
					bias := randSlice(r, 6)
					c0 := randSlice(r, 5*ldc+nr)
					want := append([]float32(nil), c0...)
					gemmKernelGeneric(nr, k, a, b, ldb, want, ldc, bias, flags)
					got, check := withGuard(r, len(c0))
					copy(got, c0)
					// entries between rows are not part of the tile
					if nr == 8 {
						sgemmKernel6x8(k, &a[0], &b[0], ldb, &got[0], ldc, &bias[0], flags)
					} else {
						sgemmKernel6x16(k, &a[0], &b[0], ldb, &got[0], ldc, &bias[0], flags)
					}
					check(t, "kernel C")
					for i := range got {
						inTile := i%ldc < nr
						if !inTile && got[i] != c0[i] {
							t.Fatalf("nr=%d k=%d: wrote outside the tile at %d", nr, k, i)
						}
					}
					if e, at := maxRelErr(got, want); e > 1e-5 {
						t.Fatalf("nr=%d k=%d ldb=%d flags=%d: rel err %g at %d", nr, k, ldb, flags, e, at)
					}
				}
			}
		}
	}
}

// TestColKernelMatchesTileKernel: sgemmKernel24x1 gives, bit for bit, the
// sums the 6×8 tile kernel gives for the same column (so a GEMM's result
// does not depend on which kernel computed a column), and matches its Go
// contract.
func TestColKernelMatchesTileKernel(t *testing.T) {
	if !useAVX2 {
		t.Skipf("no assembly kernels in this build or on this CPU (%s)", FastPath())
	}
	r := rand.New(rand.NewSource(26))
	for _, k := range []int{1, 2, 3, 5, 8, 255, 256, 1024} {
		lda := 6*k + 5 // panels need not be adjacent
		a := randSlice(r, 3*lda+6*k)
		bpan := randSlice(r, 16*k) // a packed 16-wide B panel
		for x := 0; x < 3; x++ {
			got, check := withGuard(r, 32)
			sgemmKernel24x1(k, &a[0], lda, &bpan[x], 16, &got[0])
			check(t, "sgemmKernel24x1")
			want := make([]float32, 32)
			gemmCol24Generic(k, a, lda, bpan[x:], 16, want)
			if e, at := maxRelErr(got, want); e > 1e-5*math.Max(1, math.Sqrt(float64(k)/64)) {
				t.Fatalf("k=%d column %d: rel err %g against the Go contract at %d", k, x, e, at)
			}
			for p := 0; p < 4; p++ {
				var tile [6 * 8]float32
				sgemmKernel6x8(k, &a[p*lda], &bpan[x], 16, &tile[0], 8, &zeroBias[0], 0)
				for i := 0; i < 6; i++ {
					if got[p*8+i] != tile[i*8] {
						t.Fatalf("k=%d column %d panel %d row %d: %v, the 6x8 kernel gives %v", k, x, p, i, got[p*8+i], tile[i*8])
					}
				}
				if got[p*8+6] != 0 || got[p*8+7] != 0 {
					t.Fatalf("k=%d: lanes 6, 7 of panel %d are %v, %v, want 0", k, p, got[p*8+6], got[p*8+7])
				}
			}
		}
	}
}

// gemmCase runs one GEMM against GemmRef with padded leading dimensions
// and guard bands, checking the inputs are left unchanged.
func gemmCase(t *testing.T, r *rand.Rand, p GemmParams, pad int) {
	t.Helper()
	ra, ca := p.M, p.K
	if p.TransA {
		ra, ca = p.K, p.M
	}
	rb, cb := p.K, p.N
	if p.TransB {
		rb, cb = p.N, p.K
	}
	p.LDA, p.LDB, p.LDC = ca+pad, cb+pad, p.N+pad
	a, b := randSlice(r, max(0, (ra-1)*p.LDA+ca)), randSlice(r, max(0, (rb-1)*p.LDB+cb))
	a0, b0 := append([]float32(nil), a...), append([]float32(nil), b...)
	nc := (p.M-1)*p.LDC + p.N
	got, check := withGuard(r, nc)
	c0 := append([]float32(nil), got...)
	want := append([]float32(nil), got...)
	GemmRef(want, a, b, p)
	Gemm(got, a, b, p)
	check(t, fmt.Sprintf("%+v", p))
	if !equalSlices(a, a0) || !equalSlices(b, b0) {
		t.Fatalf("%+v: inputs modified", p)
	}
	for i := range got {
		if i%p.LDC >= p.N && got[i] != c0[i] {
			t.Fatalf("%+v: wrote into the row padding at %d", p, i)
		}
	}
	tol := 1e-5 * math.Max(1, math.Sqrt(float64(p.K)/64))
	if e, at := maxRelErr(got, want); e > tol {
		t.Fatalf("%+v: rel err %g at %d", p, e, at)
	}
}

func TestGemmTileBoundaries(t *testing.T) {
	ms := []int{1, 2, 5, 6, 7, 11, 12, 13, 143, 144, 145, 150}
	ns := []int{1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 49, 63, 64, 65}
	ks := []int{1, 3, 4, 5, 255, 256, 257, 513}
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(11))
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, m := range ms {
				for _, n := range ns {
					gemmCase(t, r, GemmParams{M: m, N: n, K: 1 + (m+n)%9, TransA: tr[0], TransB: tr[1], Accumulate: (m+n)%2 == 0}, (m+n)%3)
				}
			}
			for _, k := range ks {
				for _, mn := range [][2]int{{6, 16}, {7, 17}, {13, 33}, {1, 8}} {
					for _, acc := range []bool{false, true} {
						gemmCase(t, r, GemmParams{M: mn[0], N: mn[1], K: k, TransA: tr[0], TransB: tr[1], Accumulate: acc}, 1)
					}
				}
			}
		}
	})
}

func TestGemmParallelSplits(t *testing.T) {
	defer SetThreads(SetThreads(2))
	old := gemmParallelMin
	gemmParallelMin = 0
	defer func() { gemmParallelMin = old }()
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(12))
		for _, s := range [][3]int{{48, 3136, 48}, {128, 200, 40}, {1024, 49, 20}, {25, 130, 7}, {300, 9, 300}, {13, 3100, 3}} {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
				gemmCase(t, r, GemmParams{M: s[0], N: s[1], K: s[2], TransA: tr[0], TransB: tr[1]}, 0)
			}
		}
	})
}

func TestDepthwiseRowKernels(t *testing.T) {
	if !useAVX2 {
		t.Skipf("no assembly kernels in this build or on this CPU (%s)", FastPath())
	}
	r := rand.New(rand.NewSource(13))
	for _, s := range []int{1, 2} {
		minW := dwMinW1
		if s == 2 {
			minW = dwMinW2
		}
		for w := minW; w < minW+40; w++ {
			ow := (w-1)/s + 1
			rows := [3][]float32{randSlice(r, w), randSlice(r, w), randSlice(r, w)}
			wt := randSlice(r, 9)
			for _, relu := range []int{0, 1} {
				bias := float32(r.NormFloat64())
				want := make([]float32, ow)
				dwRowGeneric(want, rows, wt, w, s, bias, relu == 1)
				got, check := withGuard(r, ow)
				if s == 1 {
					dwConv3x3s1Row(&got[0], &rows[0][0], &rows[1][0], &rows[2][0], &wt[0], w, &bias, relu)
				} else {
					dwConv3x3s2Row(&got[0], &rows[0][0], &rows[1][0], &rows[2][0], &wt[0], w, ow, &bias, relu)
				}
				check(t, "depthwise row")
				if e, at := maxRelErr(got, want); e > 1e-6 {
					t.Fatalf("stride %d width %d relu %d: rel err %g at %d", s, w, relu, e, at)
				}
			}
		}
	}
}

func TestDepthwiseShapes(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(14))
		for _, s := range []int{1, 2} {
			for _, hw := range [][2]int{{1, 1}, {5, 1}, {4, 2}, {2, 3}, {3, 7}, {5, 9}, {4, 10}, {6, 11}, {7, 17}, {8, 18}, {5, 19}, {14, 14}, {9, 33}, {3, 56}} {
				p := ConvParams{N: 2, InC: 3, InH: hw[0], InW: hw[1], OutC: 3, KH: 3, KW: 3, StrideH: s, StrideW: s, PadH: 1, PadW: 1, Groups: 3}
				convCase(t, r, p)
			}
		}
	})
}

// convCase checks Conv2D and PackedConv.Forward against Conv2DRef with
// guard bands, with and without bias and ReLU.
func convCase(t *testing.T, r *rand.Rand, p ConvParams) {
	t.Helper()
	x, w, b := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutC)
	x0 := append([]float32(nil), x...)
	for _, bias := range [][]float32{nil, b} {
		pc := NewPackedConv(w, bias, p)
		for _, act := range []Activation{ActNone, ActReLU} {
			want := make([]float32, p.OutSize())
			Conv2DRef(want, x, w, bias, p, act)
			for name, f := range map[string]func(out []float32){
				"Conv2D":     func(out []float32) { Conv2D(out, x, w, bias, p, act) },
				"PackedConv": func(out []float32) { pc.Forward(out, x, act) },
			} {
				got, check := withGuard(r, p.OutSize())
				f(got)
				check(t, name)
				if !equalSlices(x, x0) {
					t.Fatalf("%s %+v: input modified", name, p)
				}
				if e, at := maxRelErr(got, want); e > 2e-5 {
					t.Fatalf("%s %+v bias=%v act=%d: rel err %g at %d", name, p, bias != nil, act, e, at)
				}
			}
		}
	}
}

// s0Convs are MobileOne-s0 deploy convolutions at 224×224 (and the
// stride-2 1×1 scale branches of training mode).
var s0Convs = []struct {
	name string
	p    ConvParams
}{
	{"stem-3x3s2-3to48", ConvParams{N: 1, InC: 3, InH: 224, InW: 224, OutC: 48, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1}},
	{"stage1-dw3x3s2-48", ConvParams{N: 1, InC: 48, InH: 112, InW: 112, OutC: 48, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 48}},
	{"stage1-dw3x3s1-48", ConvParams{N: 1, InC: 48, InH: 56, InW: 56, OutC: 48, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 48}},
	{"stage1-pw-48to48", ConvParams{N: 1, InC: 48, InH: 56, InW: 56, OutC: 48, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}},
	{"stage2-dw3x3s2-48", ConvParams{N: 1, InC: 48, InH: 56, InW: 56, OutC: 48, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 48}},
	{"stage2-dw3x3s1-128", ConvParams{N: 1, InC: 128, InH: 28, InW: 28, OutC: 128, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 128}},
	{"stage2-pw-128to128", ConvParams{N: 1, InC: 128, InH: 28, InW: 28, OutC: 128, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}},
	{"stage3-dw3x3s1-256", ConvParams{N: 1, InC: 256, InH: 14, InW: 14, OutC: 256, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 256}},
	{"stage3-pw-256to256", ConvParams{N: 1, InC: 256, InH: 14, InW: 14, OutC: 256, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}},
	{"stage4-dw3x3s2-256", ConvParams{N: 1, InC: 256, InH: 14, InW: 14, OutC: 256, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 256}},
	{"stage4-pw-256to1024", ConvParams{N: 1, InC: 256, InH: 7, InW: 7, OutC: 1024, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}},
	// the classifier head as a 1×1 conv on a 1×1 plane
	{"head-fc-1024to1000", ConvParams{N: 1, InC: 1024, InH: 1, InW: 1, OutC: 1000, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}},
	{"head-fc-1024to1000-b32", ConvParams{N: 32, InC: 1024, InH: 1, InW: 1, OutC: 1000, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}},
}

// TestIm2colBands checks dense convs computed as bands of output rows
// (im2colRows plus one GEMM per band), with a ragged last band and the
// bands split over two goroutines.
func TestIm2colBands(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(22))
		for _, th := range []int{1, 2} {
			restore := SetThreads(th)
			for _, p := range []ConvParams{
				// oh 50, ow 45, k 27: 20-row bands (20, 20, 10), 6.8M MACs (split)
				{N: 1, InC: 3, InH: 100, InW: 90, OutC: 112, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1},
				// k 144, ow 61: 2-row bands, last one a single row
				{N: 1, InC: 16, InH: 7, InW: 61, OutC: 20, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1},
				// a band wider than the plane: one band
				{N: 2, InC: 3, InH: 9, InW: 11, OutC: 7, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1},
			} {
				if k, oh, ow := p.InC*p.KH*p.KW, p.OutH(), p.OutW(); th == 2 && p.N == 1 && p.InC == 3 {
					if rows := im2colBlockFloats / (k * ow); (oh+rows-1)/rows < 3 {
						t.Fatalf("%+v: %d bands, the test wants at least 3", p, (oh+rows-1)/rows)
					}
				}
				convCase(t, r, p)
			}
			SetThreads(restore)
		}
	})
}

func TestConvS0Shapes(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the float64 reference convolution of the s0 shapes takes seconds")
	}
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(15))
		for _, c := range s0Convs {
			p := c.p
			if p.InH > 56 { // keep the reference affordable: crop the big planes
				p.InH, p.InW = 37, 61
			}
			convCase(t, r, p)
		}
		for _, p := range convCases {
			convCase(t, r, p)
		}
	})
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	if !useAVX2 {
		t.Skipf("portable path (%s): its goroutine fan-out (parallelFor closures) allocates; only the assembly path is allocation-free", FastPath())
	}
	if race.Enabled {
		t.Skip("-race: sync.Pool drops pooled scratch at random, so pooled buffers are re-allocated")
	}
	r := rand.New(rand.NewSource(16))
	for _, th := range []int{1, 2} {
		restore := SetThreads(th)
		for _, c := range s0Convs {
			p := c.p
			x, w, b := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutC)
			out := make([]float32, p.OutSize())
			pc := NewPackedConv(w, b, p)
			Conv2D(out, x, w, b, p, ActReLU)
			pc.Forward(out, x, ActReLU)
			if n := testing.AllocsPerRun(20, func() { Conv2D(out, x, w, b, p, ActReLU) }); n != 0 {
				t.Errorf("threads %d: Conv2D %s: %v allocs per call", th, c.name, n)
			}
			if n := testing.AllocsPerRun(20, func() { pc.Forward(out, x, ActReLU) }); n != 0 {
				t.Errorf("threads %d: PackedConv.Forward %s: %v allocs per call", th, c.name, n)
			}
			if BlockedSupported(p) {
				bc := NewBlockedConv(w, b, p)
				bc.Forward(out, x, ActReLU)
				if n := testing.AllocsPerRun(20, func() { bc.Forward(out, x, ActReLU) }); n != 0 {
					t.Errorf("threads %d: BlockedConv.Forward %s: %v allocs per call", th, c.name, n)
				}
			}
		}
		for _, s := range gemmBenchShapes {
			p := s.p
			a, bb, c := randSlice(r, p.M*p.K), randSlice(r, p.K*p.N), randSlice(r, p.M*p.N)
			Gemm(c, a, bb, p)
			if n := testing.AllocsPerRun(20, func() { Gemm(c, a, bb, p) }); n != 0 {
				t.Errorf("threads %d: Gemm %s: %v allocs per call", th, s.name, n)
			}
		}
		SetThreads(restore)
	}
}

func FuzzGemm(f *testing.F) {
	f.Add(uint8(7), uint8(17), uint16(5), uint8(0), uint8(1))
	f.Add(uint8(6), uint8(16), uint16(256), uint8(3), uint8(0))
	f.Add(uint8(13), uint8(49), uint16(257), uint8(5), uint8(2))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, mode, pad uint8) {
		p := GemmParams{M: int(m%64) + 1, N: int(n) + 1, K: int(k%600) + 1,
			TransA: mode&1 != 0, TransB: mode&2 != 0, Accumulate: mode&4 != 0}
		eachPath(func(string) {
			r := rand.New(rand.NewSource(int64(m) | int64(n)<<8 | int64(k)<<16))
			gemmCase(t, r, p, int(pad%4))
		})
	})
}

// FuzzConv compares dense convolutions (pointwise, on 1×1 planes too, and
// 3×3 through banded im2col) on the fast kernels with the reference,
// on one or two goroutines.
func FuzzConv(f *testing.F) {
	f.Add(uint8(3), uint8(48), uint8(33), uint8(40), uint8(1), uint8(0))
	f.Add(uint8(64), uint8(70), uint8(0), uint8(0), uint8(0), uint8(1))
	f.Add(uint8(5), uint8(9), uint8(13), uint8(7), uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, inC, outC, h, w, mode, threads uint8) {
		p := ConvParams{N: 1, InC: int(inC%64) + 1, InH: int(h%48) + 1, InW: int(w%48) + 1, OutC: int(outC%80) + 1,
			KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}
		if mode&1 != 0 { // 3×3, padding 1
			p.KH, p.KW, p.PadH, p.PadW = 3, 3, 1, 1
		}
		if mode&2 != 0 {
			p.StrideH, p.StrideW = 2, 2
		}
		if mode&4 != 0 {
			p.N = 2
		}
		defer SetThreads(SetThreads(int(threads%2) + 1))
		eachPath(func(string) {
			r := rand.New(rand.NewSource(int64(inC) | int64(outC)<<8 | int64(h)<<16 | int64(w)<<24))
			convCase(t, r, p)
		})
	})
}

func FuzzDepthwise(f *testing.F) {
	f.Add(uint8(5), uint8(19), uint8(1), true)
	f.Add(uint8(9), uint8(40), uint8(2), false)
	f.Fuzz(func(t *testing.T, h, w, stride uint8, relu bool) {
		p := ConvParams{N: 1, InC: 2, InH: int(h%40) + 1, InW: int(w%120) + 1, OutC: 2, KH: 3, KW: 3,
			StrideH: int(stride%2) + 1, PadH: 1, PadW: 1, Groups: 2}
		p.StrideW = p.StrideH
		eachPath(func(string) {
			r := rand.New(rand.NewSource(int64(h) | int64(w)<<8))
			convCase(t, r, p)
		})
	})
}

// TestConvBackwardFast checks the training GEMMs (dX = Wᵀ·dY and
// dW = dY·Xᵀ, read through the transposed-operand packing) against the
// references on batch 1 (one spread GEMM) and batch 3 (images in parallel).
func TestConvBackwardFast(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(17))
		for _, n := range []int{1, 3} {
			for _, p := range []ConvParams{
				{N: n, InC: 40, InH: 9, InW: 13, OutC: 70, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1},
				{N: n, InC: 3, InH: 17, InW: 19, OutC: 13, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1},
			} {
				x, w, dy := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutSize())
				wantDx, gotDx := make([]float32, p.InSize()), randSlice(r, p.InSize())
				Conv2DBackwardDataRef(wantDx, dy, w, p)
				Conv2DBackwardData(gotDx, dy, w, p)
				if e, at := maxRelErr(gotDx, wantDx); e > 1e-5 {
					t.Fatalf("%+v: backward data rel err %g at %d", p, e, at)
				}
				wantDw, gotDw := make([]float32, p.WeightSize()), randSlice(r, p.WeightSize())
				Conv2DBackwardWeightRef(wantDw, x, dy, p)
				Conv2DBackwardWeight(gotDw, x, dy, p)
				if e, at := maxRelErr(gotDw, wantDw); e > 1e-5 {
					t.Fatalf("%+v: backward weight rel err %g at %d", p, e, at)
				}
			}
		}
	})
}

// dwPlaneRows returns the three input rows under output row y of a 3×3
// depthwise convolution with padding 1 and the given stride on an H×W
// plane, with zeros for rows outside it.
func dwPlaneRows(in []float32, H, W, y, stride int) [3][]float32 {
	var rows [3][]float32
	for ky := range rows {
		rows[ky] = dwZeros[:W]
		if iy := y*stride + ky - 1; iy >= 0 && iy < H {
			rows[ky] = in[iy*W : (iy+1)*W]
		}
	}
	return rows
}

// TestDepthwisePlaneKernel: the stride-1 plane kernels (AVX2 from W = 9,
// AVX-512 from W = 1) match the Go contract within rounding and write
// nothing outside the plane; the AVX-512 one gives, bit for bit, what the
// AVX2 one gives where both run.
func TestDepthwisePlaneKernel(t *testing.T) {
	kernels := []struct {
		name string
		ok   bool
		minW int
		f    func(out, in, w *float32, H, W int, bias *float32, relu int, zero *float32)
	}{
		{"avx2", useAVX2, dwPlaneMinW, dwConv3x3s1Plane},
		{"avx512", useAVX512, 1, dwConv3x3s1PlaneZ},
	}
	if !useAVX2 {
		t.Skipf("no assembly kernels in this build or on this CPU (%s)", FastPath())
	}
	for _, k := range kernels {
		if !k.ok {
			t.Logf("%s: not on this CPU or build (%s)", k.name, FastPath())
			continue
		}
		r := rand.New(rand.NewSource(18))
		for W := k.minW; W < dwPlaneMinW+52; W++ {
			for _, H := range []int{1, 2, 3, 5, 7} {
				in, wt := randSlice(r, H*W), randSlice(r, 9)
				for _, relu := range []int{0, 1} {
					bias := float32(r.NormFloat64())
					want := make([]float32, H*W)
					for y := 0; y < H; y++ {
						dwRowGeneric(want[y*W:(y+1)*W], dwPlaneRows(in, H, W, y, 1), wt, W, 1, bias, relu == 1)
					}
					got, check := withGuard(r, H*W)
					k.f(&got[0], &in[0], &wt[0], H, W, &bias, relu, &dwZeros[0])
					check(t, k.name+" depthwise plane")
					if e, at := maxRelErr(got, want); e > 1e-6 {
						t.Fatalf("%s H %d W %d relu %d: rel err %g at %d", k.name, H, W, relu, e, at)
					}
					if k.name == "avx2" || W < dwPlaneMinW {
						continue
					}
					avx2 := make([]float32, H*W)
					dwConv3x3s1Plane(&avx2[0], &in[0], &wt[0], H, W, &bias, relu, &dwZeros[0])
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(avx2[i]) {
							t.Fatalf("H %d W %d relu %d: output %d is %v, the AVX2 kernel gives %v", H, W, relu, i, got[i], avx2[i])
						}
					}
				}
			}
		}
	}
}
