package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// eachPath runs fn once on every kernel path this build and CPU have
// (avx512f, avx2+fma, go), switching with the test hooks; the fuzzers use
// it so that one input exercises every path.
func eachPath(fn func(path string)) {
	if useAVX512 {
		fn(FastPath())
	}
	if useAVX2 {
		restore := disableAVX512()
		fn(FastPath())
		restore()
	}
	restore := disableAVX2()
	fn(FastPath())
	restore()
}

// TestZKernelsMatchAVX2Tile: the AVX-512 tile kernels give, bit for bit,
// the entries the AVX2 6×16 kernel gives panel by panel (one FMA chain per
// output in k order, then bias, C and ReLU), touch nothing outside their
// tile, and match the Go contract.
func TestZKernelsMatchAVX2Tile(t *testing.T) {
	if !useAVX512 {
		t.Skipf("no AVX-512 kernels in this build or on this CPU (%s)", FastPath())
	}
	kernelsZ := []struct {
		np int
		f  func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags, m int, cols uint16)
	}{{3, sgemmKernelZ18x16}, {2, sgemmKernelZ12x16}, {1, sgemmKernelZ6x16}}
	r := rand.New(rand.NewSource(31))
	for _, kz := range kernelsZ {
		rows := 6 * kz.np
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257} {
			for _, ldb := range []int{16, 37} {
				for flags := 0; flags < 4; flags++ {
					// all rows, and a ragged last panel (m rows of C exist)
					m := rows - (k+flags)%6
					// all 16 columns, and a ragged last B panel (nr of them exist)
					nr := 16
					if flags&1 != 0 {
						nr = 1 + (k*7+ldb)%16
					}
					const ldc = 21
					lda := 6*k + 3 // panels need not be adjacent
					a, b := randSlice(r, (kz.np-1)*lda+6*k), randSlice(r, (k-1)*ldb+16)
					bias := randSlice(r, rows)
					c0 := randSlice(r, (rows-1)*ldc+16)
					want := append([]float32(nil), c0...)
					contract := append([]float32(nil), c0...)
					for p := 0; p < kz.np; p++ {
						sgemmKernel6x16(k, &a[p*lda], &b[0], ldb, &want[6*p*ldc], ldc, &bias[6*p], flags)
					}
					gemmTileZGeneric(kz.np, nr, k, a, lda, b, ldb, contract, ldc, bias[:m], flags, m)
					got, check := withGuard(r, len(c0))
					copy(got, c0)
					kz.f(k, &a[0], lda, &b[0], ldb, &got[0], ldc, &bias[0], flags, m, uint16(1<<nr-1))
					check(t, "kernel C")
					what := fmt.Sprintf("%dx16 m=%d nr=%d k=%d ldb=%d flags=%d", rows, m, nr, k, ldb, flags)
					for i := range got {
						if (i%ldc >= nr || i/ldc >= m) && got[i] != c0[i] {
							t.Fatalf("%s: wrote outside the tile at %d", what, i)
						}
						if i%ldc < nr && i/ldc < m && got[i] != want[i] {
							t.Fatalf("%s: entry %d is %v, the AVX2 6x16 kernel gives %v", what, i, got[i], want[i])
						}
					}
					if e, at := maxRelErr(got, contract); e > 1e-5*math.Max(1, math.Sqrt(float64(k)/64)) {
						t.Fatalf("%s: rel err %g against the Go contract at %d", what, e, at)
					}
				}
			}
		}
	}
}

// TestZWideKernelsMatchAVX2Tile: the 32-column AVX-512 tiles (12×32 and
// 6×32, used on full column pairs of B read in place) give, bit for bit,
// what the AVX2 6×16 kernel gives on each 16-column half, and touch only
// the first m rows of their tile.
func TestZWideKernelsMatchAVX2Tile(t *testing.T) {
	if !useAVX512 {
		t.Skipf("no AVX-512 kernels in this build or on this CPU (%s)", FastPath())
	}
	kernels := []struct {
		np int
		f  func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags, m int, cols uint16)
	}{{2, sgemmKernelZ12x32}, {1, sgemmKernelZ6x32}}
	r := rand.New(rand.NewSource(33))
	for _, kz := range kernels {
		rows := 6 * kz.np
		for _, k := range []int{1, 2, 3, 4, 5, 9, 255, 256, 257} {
			for _, ldb := range []int{32, 49, 196} {
				for flags := 0; flags < 4; flags++ {
					m := rows - (k+flags)%6
					const ldc = 45
					lda := 6*k + 5
					a, b := randSlice(r, (kz.np-1)*lda+6*k), randSlice(r, (k-1)*ldb+32)
					bias := randSlice(r, rows)
					c0 := randSlice(r, (rows-1)*ldc+32)
					want := append([]float32(nil), c0...)
					for p := 0; p < kz.np; p++ {
						for h := 0; h < 2; h++ {
							sgemmKernel6x16(k, &a[p*lda], &b[16*h], ldb, &want[6*p*ldc+16*h], ldc, &bias[6*p], flags)
						}
					}
					got, check := withGuard(r, len(c0))
					copy(got, c0)
					kz.f(k, &a[0], lda, &b[0], ldb, &got[0], ldc, &bias[0], flags, m, 0xffff)
					check(t, "kernel C")
					what := fmt.Sprintf("%dx32 m=%d k=%d ldb=%d flags=%d", rows, m, k, ldb, flags)
					for i := range got {
						inside := i%ldc < 32 && i/ldc < m
						if !inside && got[i] != c0[i] {
							t.Fatalf("%s: wrote outside the tile at %d", what, i)
						}
						if inside && got[i] != want[i] {
							t.Fatalf("%s: entry %d is %v, the AVX2 6x16 kernel gives %v", what, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestGemmAVX512MatchesAVX2: whole products (tiles, edge tiles, column
// tails, several K blocks, bias and ReLU, both splits over threads) are the
// same bit for bit on the AVX-512 and AVX2 paths, so a model's logits do
// not depend on which of them the CPU gets.
func TestGemmAVX512MatchesAVX2(t *testing.T) {
	if !useAVX512 {
		t.Skipf("no AVX-512 kernels in this build or on this CPU (%s)", FastPath())
	}
	old := gemmParallelMin
	gemmParallelMin = 0
	defer func() { gemmParallelMin = old }()
	r := rand.New(rand.NewSource(32))
	for _, th := range []int{1, 2} {
		restore := SetThreads(th)
		for _, s := range [][3]int{{48, 3136, 48}, {128, 196, 130}, {150, 49, 600}, {256, 196, 256}, {20, 64, 7}, {1000, 1, 1024}, {30, 33, 257}, {13, 17, 5}, {300, 9, 300}} {
			m, n, k := s[0], s[1], s[2]
			a, b, bias := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m)
			pa := newPackedA(a, k, false, m, k)
			for _, tr := range []bool{false, true} {
				p := GemmParams{M: m, N: n, K: k, LDA: k, LDB: n, LDC: n, TransB: tr}
				if tr {
					p.LDB = k
				}
				var out [2][2][]float32
				for path := 0; path < 2; path++ {
					var undo func()
					if path == 1 {
						undo = disableAVX512()
					}
					out[path][0] = make([]float32, m*n)
					Gemm(out[path][0], a, b, p)
					out[path][1] = make([]float32, m*n)
					gemmBiasAct(out[path][1], nil, pa, b, m, n, k, bias, ActReLU, true)
					if undo != nil {
						undo()
					}
				}
				for v := range out[0] {
					if v == 1 && tr {
						continue
					}
					for i := range out[0][v] {
						if out[0][v][i] != out[1][v][i] {
							t.Fatalf("threads %d %dx%dx%d transB=%v variant %d: entry %d is %v on avx512f, %v on avx2", th, m, n, k, tr, v, i, out[0][v][i], out[1][v][i])
						}
					}
				}
			}
		}
		SetThreads(restore)
	}
}

// TestZColKernelsMatchTileKernel: the sgemmKernelZCol kernels give, bit for
// bit, the sums the 6×16 tile kernel gives for the same columns, write
// zeros to the two pad lanes of every panel, and match their Go contract.
func TestZColKernelsMatchTileKernel(t *testing.T) {
	if !useAVX512 {
		t.Skipf("no AVX-512 kernels in this build or on this CPU (%s)", FastPath())
	}
	kernels := []struct {
		np, nc int
		f      func(k int, a *float32, lda int, b *float32, ldb int, out *float32)
	}{{8, 1, sgemmKernelZCol1}, {8, 2, sgemmKernelZCol2}}
	r := rand.New(rand.NewSource(33))
	for _, kz := range kernels {
		for _, k := range []int{1, 2, 3, 5, 8, 255, 256, 1024} {
			lda := 6*k + 5 // panels need not be adjacent
			a := randSlice(r, (kz.np-1)*lda+6*k)
			bpan := randSlice(r, 16*k) // a packed 16-wide B panel
			for x0 := 0; x0+kz.nc <= 16; x0 += 16 - kz.nc {
				n := kz.nc * kz.np * 8
				got, check := withGuard(r, n)
				kz.f(k, &a[0], lda, &bpan[x0], 16, &got[0])
				check(t, "sgemmKernelZCol")
				want := make([]float32, n)
				gemmColZGeneric(kz.np, kz.nc, k, a, lda, bpan[x0:], 16, want)
				if e, at := maxRelErr(got, want); e > 1e-5*math.Max(1, math.Sqrt(float64(k)/64)) {
					t.Fatalf("np=%d nc=%d k=%d: rel err %g against the Go contract at %d", kz.np, kz.nc, k, e, at)
				}
				for p := 0; p < kz.np; p++ {
					var tile [6 * 16]float32
					sgemmKernel6x16(k, &a[p*lda], &bpan[0], 16, &tile[0], 16, &zeroBias[0], 0)
					for x := 0; x < kz.nc; x++ {
						o := got[(x*kz.np+p)*8:][:8]
						for i := 0; i < 6; i++ {
							if o[i] != tile[i*16+x0+x] {
								t.Fatalf("np=%d nc=%d k=%d column %d panel %d row %d: %v, the 6x16 kernel gives %v", kz.np, kz.nc, k, x0+x, p, i, o[i], tile[i*16+x0+x])
							}
						}
						if o[6] != 0 || o[7] != 0 {
							t.Fatalf("np=%d nc=%d: pad lanes of column %d panel %d are %v, %v", kz.np, kz.nc, x, p, o[6], o[7])
						}
					}
				}
			}
		}
	}
}

// TestDepthwiseAVX512MatchesAVX2: 3×3 depthwise convolutions (stride 1 and
// 2, planes from 1×1 to 112 wide, odd and even, bias and ReLU, one and two
// threads) give the same bits on the AVX-512 and AVX2 paths.
func TestDepthwiseAVX512MatchesAVX2(t *testing.T) {
	if !useAVX512 {
		t.Skipf("no AVX-512 kernels in this build or on this CPU (%s)", FastPath())
	}
	old := dwParallelMin
	dwParallelMin = 0
	defer func() { dwParallelMin = old }()
	r := rand.New(rand.NewSource(35))
	for _, th := range []int{1, 2} {
		restore := SetThreads(th)
		for _, hw := range []int{1, 2, 3, 5, 7, 8, 9, 13, 14, 17, 18, 19, 28, 33, 56, 112} {
			for _, s := range []int{1, 2} {
				p := ConvParams{N: 2, InC: 6, InH: hw, InW: hw + s%2, OutC: 6, KH: 3, KW: 3, StrideH: s, StrideW: s, PadH: 1, PadW: 1, Groups: 6}
				in, w, bias := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutC)
				var out [2][]float32
				for path := range out {
					var undo func()
					if path == 1 {
						undo = disableAVX512()
					}
					out[path] = make([]float32, p.OutSize())
					NewPackedConv(w, bias, p).Forward(out[path], in, ActReLU)
					if undo != nil {
						undo()
					}
				}
				for i := range out[0] {
					if math.Float32bits(out[0][i]) != math.Float32bits(out[1][i]) {
						t.Fatalf("threads %d %dx%d stride %d: output %d is %v on avx512f, %v on avx2", th, p.InH, p.InW, s, i, out[0][i], out[1][i])
					}
				}
			}
		}
		SetThreads(restore)
	}
}

// TestDepthwiseS2PlaneZ: the AVX-512 stride-2 plane kernel gives, bit for
// bit, what the AVX2 stride-2 row kernel gives row by row (borders
// included, odd and even widths from 18), within rounding of the Go
// contract, and writes nothing outside the output plane.
func TestDepthwiseS2PlaneZ(t *testing.T) {
	if !useAVX512 {
		t.Skipf("no AVX-512 kernels in this build or on this CPU (%s)", FastPath())
	}
	r := rand.New(rand.NewSource(36))
	for W := dwMinW2; W <= 120; W++ {
		for _, H := range []int{1, 2, 3, 4, 7} {
			oh, ow := (H-1)/2+1, (W-1)/2+1
			in, wt := randSlice(r, H*W), randSlice(r, 9)
			for _, relu := range []int{0, 1} {
				bias := float32(r.NormFloat64())
				want := make([]float32, oh*ow)
				contract := make([]float32, oh*ow)
				for y := 0; y < oh; y++ {
					rows := dwPlaneRows(in, H, W, y, 2)
					dwConv3x3s2Row(&want[y*ow], &rows[0][0], &rows[1][0], &rows[2][0], &wt[0], W, ow, &bias, relu)
					dwRowGeneric(contract[y*ow:(y+1)*ow], rows, wt, W, 2, bias, relu == 1)
				}
				got, check := withGuard(r, oh*ow)
				dwConv3x3s2PlaneZ(&got[0], &in[0], &wt[0], H, W, &bias, relu, &dwZeros[0], 3)
				check(t, "depthwise stride-2 plane")
				if e, at := maxRelErr(got, contract); e > 1e-5 {
					t.Fatalf("H %d W %d relu %d: rel err %g at %d against the Go contract", H, W, relu, e, at)
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("H %d W %d relu %d: output %d is %v, the AVX2 row kernel gives %v", H, W, relu, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestIm2colS2K3Z: the AVX-512 stride-2 im2col rows are the plain copies
// (zeros for the padding) for every input width and output count, and
// nothing past them is written.
func TestIm2colS2K3Z(t *testing.T) {
	if !useAVX512 {
		t.Skipf("no AVX-512 kernels in this build or on this CPU (%s)", FastPath())
	}
	r := rand.New(rand.NewSource(37))
	for W := 1; W <= 80; W++ {
		for _, ow := range []int{(W-1)/2 + 1, W/2 + 1, 1} {
			src := randSlice(r, W)
			got, check := withGuard(r, 3*ow)
			im2colS2K3Z(&got[0], &got[ow], &got[2*ow], &src[0], W, ow)
			check(t, "im2col rows")
			for kx := 0; kx < 3; kx++ {
				for x := 0; x < ow; x++ {
					var want float32
					if i := 2*x + kx - 1; i >= 0 && i < W {
						want = src[i]
					}
					if g := got[kx*ow+x]; g != want {
						t.Fatalf("W %d ow %d: d%d[%d] = %v, want %v", W, ow, kx, x, g, want)
					}
				}
			}
		}
	}
}
