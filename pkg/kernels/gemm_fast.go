package kernels

import "sync"

// BLIS-style blocking of the packed GEMM driver (see go-kernels.md §8.2):
// a KC×NC block of B lives in L3, a KC×16 B micro-panel in L1 and an
// MC×KC block of packed A in L2; the 6×16 micro-kernel keeps its C tile in
// 12 YMM registers. With AVX-512 (tilesZ) up to three A panels share a B
// micro-panel: an 18×16 tile in 18 of the 32 ZMM registers, which runs at
// ~1.8× the 6×16 kernel's speed on a Zen 5 core (BenchmarkMicroKernel). A
// 12×32 tile (two B micro-panels read in place) measured the same within
// ±3 % per shape and was dropped for the simpler 16-column one.
const (
	gemmMR = 6
	gemmNR = 16
	gemmKC = 256
	gemmMC = 144 // 24 A panels
	gemmNC = 3072
)

// gemmParallelMin is the multiply-add count from which one GEMM is split
// over goroutines (below it the fork-join latency of this VM, 15–90 µs,
// eats the gain).
var gemmParallelMin = 6 << 20

// Flags of the micro-kernels.
const (
	kernAccumulate = 1 // add the tile to C instead of overwriting it
	kernReLU       = 2 // clamp the tile at 0 after the bias and C are added
)

// zColMax is the widest column tail the AVX-512 path gives to the column
// kernels (sgemmKernelZCol1 and 2) rather than to a masked tile.
const zColMax = 2

var zeroBias [3 * gemmMR]float32 // as many rows as the tallest tile kernel

// gemmKernelGeneric is the micro-kernel contract in plain Go: an nr-wide
// 6-row tile of C from a packed A panel (a[kk*6+i]) and a B panel read at
// b[kk*ldb+j]. The assembly kernels compute exactly this loop.
func gemmKernelGeneric(nr, k int, a, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	for i := 0; i < gemmMR; i++ {
		for j := 0; j < nr; j++ {
			s := bias[i]
			var d float32
			for kk := 0; kk < k; kk++ {
				d += a[kk*gemmMR+i] * b[kk*ldb+j]
			}
			s += d
			if flags&kernAccumulate != 0 {
				s += c[i*ldc+j]
			}
			if flags&kernReLU != 0 && s < 0 {
				s = 0
			}
			c[i*ldc+j] = s
		}
	}
}

// gemmJob is one C = op(A)·op(B) (+C) (+bias per row) (ReLU) product for
// the packed driver. A is either raw (a, lda, transA) or pre-packed (pa).
type gemmJob struct {
	m, n, k    int
	a          []float32
	lda        int
	transA     bool
	pa         *packedA
	b          []float32
	ldb        int
	transB     bool
	c          []float32
	ldc        int
	bias       []float32 // per row of C, or nil
	relu       bool
	accumulate bool

	// split for parallel runs
	parts  int
	splitN bool
}

// gemmWS is one goroutine's scratch: a packed A block, a packed B block
// and a temporary C tile for edge tiles.
type gemmWS struct {
	a    []float32
	b    []float32
	tmp  [gemmMR * gemmNR]float32
	col  [32]float32  // sgemmKernel24x1's four 8-float columns
	colZ [128]float32 // the sgemmKernelZCol kernels' columns of 8-float panels
}

var gemmWSPool = sync.Pool{New: func() any { return new(gemmWS) }}

var gemmJobPool = sync.Pool{New: func() any { return new(gemmJob) }}

func (ws *gemmWS) bufA(n int) []float32 {
	if cap(ws.a) < n {
		ws.a = make([]float32, n)
	}
	return ws.a[:n]
}

func (ws *gemmWS) bufB(n int) []float32 {
	if cap(ws.b) < n {
		ws.b = make([]float32, n)
	}
	return ws.b[:n]
}

// packedA is a matrix pre-packed into 6-row micro-panels, K block by K
// block: block pc (kc = min(KC, K−pc) columns) starts at pc·mPad, and its
// panel q at pc·mPad + q·6·kc; rows past M are zero.
type packedA struct {
	m, k, mPad int
	data       []float32
}

func newPackedA(a []float32, lda int, trans bool, m, k int) *packedA {
	pa := &packedA{}
	pa.pack(a, lda, trans, m, k)
	return pa
}

// pack (re)fills pa with op(A) (m×k), reusing pa.data when it is big
// enough.
func (pa *packedA) pack(a []float32, lda int, trans bool, m, k int) {
	mPad := (m + gemmMR - 1) / gemmMR * gemmMR
	pa.m, pa.k, pa.mPad = m, k, mPad
	if cap(pa.data) < mPad*k {
		pa.data = make([]float32, mPad*k)
	}
	pa.data = pa.data[:mPad*k]
	for pc := 0; pc < k; pc += gemmKC {
		kc := min(gemmKC, k-pc)
		packA(pa.data[pc*mPad:pc*mPad+mPad*kc], a, lda, trans, 0, m, pc, kc)
	}
}

// scratchPackedA is a pooled packedA (with a one-element group slice) for
// weights packed once per call and shared by the images of a batch.
type scratchPackedA struct {
	pa  packedA
	grp [1]*packedA
}

var scratchPackedAPool = sync.Pool{New: func() any { return new(scratchPackedA) }}

// getScratchPackedA packs op(A) into a pooled buffer; release it with
// putScratchPackedA.
func getScratchPackedA(a []float32, lda int, trans bool, m, k int) *scratchPackedA {
	s := scratchPackedAPool.Get().(*scratchPackedA)
	s.pa.pack(a, lda, trans, m, k)
	s.grp[0] = &s.pa
	return s
}

func putScratchPackedA(s *scratchPackedA) { scratchPackedAPool.Put(s) }

// gemmWithPackedA computes C(m×n) = A·B (+C when accumulate) with A
// pre-packed and B row-major with row stride n.
func gemmWithPackedA(c []float32, pa *packedA, b []float32, m, n, k int, accumulate, parallel bool) {
	j := gemmJobPool.Get().(*gemmJob)
	*j = gemmJob{m: m, n: n, k: k, pa: pa, b: b, ldb: n, c: c, ldc: n, accumulate: accumulate}
	gemmFast(j, parallel)
	*j = gemmJob{}
	gemmJobPool.Put(j)
}

// packA packs rows [i0, i0+mc) and columns [k0, k0+kc) of op(A) into 6-row
// panels: dst[q·6·kc + kk·6 + i] = op(A)[i0+6q+i][k0+kk], zero past row i0+mc.
func packA(dst, a []float32, lda int, trans bool, i0, mc, k0, kc int) {
	for q := 0; q*gemmMR < mc; q++ {
		d := dst[q*gemmMR*kc : (q+1)*gemmMR*kc]
		r0 := i0 + q*gemmMR
		rows := min(gemmMR, mc-q*gemmMR)
		switch {
		case !trans && rows == gemmMR:
			a0 := a[r0*lda+k0:][:kc]
			a1 := a[(r0+1)*lda+k0:][:kc]
			a2 := a[(r0+2)*lda+k0:][:kc]
			a3 := a[(r0+3)*lda+k0:][:kc]
			a4 := a[(r0+4)*lda+k0:][:kc]
			a5 := a[(r0+5)*lda+k0:][:kc]
			for kk := range kc {
				t := (*[gemmMR]float32)(d[kk*gemmMR:])
				t[0], t[1], t[2], t[3], t[4], t[5] = a0[kk], a1[kk], a2[kk], a3[kk], a4[kk], a5[kk]
			}
		case trans && rows == gemmMR:
			for kk := range kc {
				*(*[gemmMR]float32)(d[kk*gemmMR:]) = *(*[gemmMR]float32)(a[(k0+kk)*lda+r0:])
			}
		default:
			clear(d)
			for i := 0; i < rows; i++ {
				for kk := range kc {
					if trans {
						d[kk*gemmMR+i] = a[(k0+kk)*lda+r0+i]
					} else {
						d[kk*gemmMR+i] = a[(r0+i)*lda+k0+kk]
					}
				}
			}
		}
	}
}

// packB packs rows [k0, k0+kc) and columns [j0, j0+nc) of op(B) into
// 16-column panels: dst[q·16·kc + kk·16 + j] = op(B)[k0+kk][j0+16q+j],
// zero past column j0+nc.
func packB(dst, b []float32, ldb int, trans bool, k0, kc, j0, nc int) {
	for q := 0; q*gemmNR < nc; q++ {
		d := dst[q*gemmNR*kc : (q+1)*gemmNR*kc]
		c0 := j0 + q*gemmNR
		cols := min(gemmNR, nc-q*gemmNR)
		switch {
		case !trans && cols == gemmNR:
			for kk := range kc {
				*(*[gemmNR]float32)(d[kk*gemmNR:]) = *(*[gemmNR]float32)(b[(k0+kk)*ldb+c0:])
			}
		case !trans:
			for kk := range kc {
				t := d[kk*gemmNR : (kk+1)*gemmNR]
				copy(t, b[(k0+kk)*ldb+c0:][:cols])
				clear(t[cols:])
			}
		default:
			// B stored N×K: column j of op(B) is row j of b, contiguous in k.
			if cols < gemmNR {
				clear(d)
			}
			j := 0
			for ; j+4 <= cols; j += 4 {
				s0 := b[(c0+j)*ldb+k0:][:kc]
				s1 := b[(c0+j+1)*ldb+k0:][:kc]
				s2 := b[(c0+j+2)*ldb+k0:][:kc]
				s3 := b[(c0+j+3)*ldb+k0:][:kc]
				for kk := range kc {
					t := (*[4]float32)(d[kk*gemmNR+j:])
					t[0], t[1], t[2], t[3] = s0[kk], s1[kk], s2[kk], s3[kk]
				}
			}
			for ; j < cols; j++ {
				s0 := b[(c0+j)*ldb+k0:][:kc]
				for kk, v := range s0 {
					d[kk*gemmNR+j] = v
				}
			}
		}
	}
}

// gemmFast runs j on the packed driver, splitting it over goroutines when
// it is big enough and parallel allows it.
func gemmFast(j *gemmJob, parallel bool) {
	parts := 1
	if parallel {
		// Narrow products cost as if 16 columns wide: their edge tiles
		// run a whole FMA latency chain per k step (the classifier head at
		// batch 1, 1000×1×1024, takes ~0.3 ms on one core).
		if t := Threads(); t > 1 && j.m*max(j.n, gemmNR)*j.k >= gemmParallelMin {
			parts = t
		}
	}
	if parts > 1 {
		// Split the columns when each part keeps several micro-panels of
		// them, else the rows (each part then packs all of B).
		j.splitN = j.n >= parts*4*gemmNR
		if !j.splitN && j.m < parts*2*gemmMR {
			parts = 1
		}
	}
	if parts == 1 {
		ws := gemmWSPool.Get().(*gemmWS)
		j.run(ws, 0, j.m, 0, j.n)
		gemmWSPool.Put(ws)
		return
	}
	j.parts = parts
	runParallel(j, parts)
}

// runPart computes part `part` of j.parts.
func (j *gemmJob) runPart(part int) {
	ws := gemmWSPool.Get().(*gemmWS)
	if j.splitN {
		units := (j.n + gemmNR - 1) / gemmNR
		lo, hi := part*units/j.parts*gemmNR, (part+1)*units/j.parts*gemmNR
		j.run(ws, 0, j.m, lo, min(hi, j.n))
	} else {
		units := (j.m + gemmMR - 1) / gemmMR
		lo, hi := part*units/j.parts*gemmMR, (part+1)*units/j.parts*gemmMR
		j.run(ws, lo, min(hi, j.m), 0, j.n)
	}
	gemmWSPool.Put(ws)
}

// run computes rows [i0,i1) × columns [j0,j1) of C. i0 is a multiple of 6
// and j0 of 16.
func (j *gemmJob) run(ws *gemmWS, i0, i1, j0, j1 int) {
	if i0 >= i1 || j0 >= j1 {
		return
	}
	// B is read in place (no packing) when it is row-major: a KC×16
	// micro-panel then spans at most 2·KC cache lines, which stay in L1
	// while all A panels of the block pass over it.
	directB := !j.transB
	for jc := j0; jc < j1; jc += gemmNC {
		nc := min(gemmNC, j1-jc)
		for pc := 0; pc < j.k; pc += gemmKC {
			kc := min(gemmKC, j.k-pc)
			flags := 0
			if pc > 0 || j.accumulate {
				flags |= kernAccumulate
			}
			if pc+kc == j.k && j.relu {
				flags |= kernReLU
			}
			useBias := pc == 0 && j.bias != nil
			var bp []float32
			fullN := nc / gemmNR * gemmNR
			if directB {
				if fullN < nc {
					// pack only the ragged last panel
					bp = ws.bufB(gemmNR * kc)
					packB(bp, j.b, j.ldb, false, pc, kc, jc+fullN, nc-fullN)
				}
			} else {
				np := (nc + gemmNR - 1) / gemmNR
				bp = ws.bufB(np * gemmNR * kc)
				packB(bp, j.b, j.ldb, j.transB, pc, kc, jc, nc)
			}
			for ic := i0; ic < i1; ic += gemmMC {
				mc := min(gemmMC, i1-ic)
				var ap []float32
				if j.pa != nil {
					off := pc*j.pa.mPad + ic*kc
					ap = j.pa.data[off : off+(mc+gemmMR-1)/gemmMR*gemmMR*kc]
				} else {
					ap = ws.bufA((mc + gemmMR - 1) / gemmMR * gemmMR * kc)
					packA(ap, j.a, j.lda, j.transA, ic, mc, pc, kc)
				}
				for jr := 0; jr < nc; jr += gemmNR {
					if useAVX512 && directB && jr+2*gemmNR <= fullN {
						// two panels at once: 12×32 tiles load each A
						// element once for 32 columns
						off := pc*j.ldb + jc + jr
						_ = j.b[off+(kc-1)*j.ldb+2*gemmNR-1]
						if ic == i0 && jr+4*gemmNR <= fullN {
							_ = j.b[off+2*gemmNR+(kc-1)*j.ldb+2*gemmNR-1]
							prefetchRows(&j.b[off+2*gemmNR], j.ldb, kc)
							prefetchRows(&j.b[off+3*gemmNR], j.ldb, kc)
						}
						j.tilesZ(ap, &j.b[off], j.ldb, kc, ic, 0, mc, jc+jr, 2*gemmNR, useBias, flags)
						jr += gemmNR
						continue
					}
					nr := min(gemmNR, nc-jr)
					var bptr *float32
					ldb := gemmNR
					switch {
					case directB && nr == gemmNR:
						off := pc*j.ldb + jc + jr
						_ = j.b[off+(kc-1)*j.ldb+gemmNR-1]
						bptr, ldb = &j.b[off], j.ldb
						if ic == i0 && jr+2*gemmNR <= fullN {
							// the next panel's rows, while this one is multiplied
							_ = j.b[off+gemmNR+(kc-1)*j.ldb+gemmNR-1]
							prefetchRows(&j.b[off+gemmNR], j.ldb, kc)
						}
					case directB:
						bptr = &bp[0]
					default:
						off := jr * kc
						_ = bp[off+gemmNR*kc-1]
						bptr = &bp[off]
					}
					ir0 := 0
					if useAVX512 {
						// a tail of up to zColMax columns: the column
						// kernels, then the tile kernels for the rows left
						// (and for every panel of more columns)
						if nr <= zColMax {
							ir0 = j.colTailZ(ws, ap, bptr, kc, ic, mc, jc+jr, nr, useBias, flags)
						}
						j.tilesZ(ap, bptr, ldb, kc, ic, ir0, mc, jc+jr, nr, useBias, flags)
						continue
					}
					if nr < 4 {
						// a 1–3 column tail: four A panels at a time
						// down each column (B is a packed panel here)
						ir0 = j.colTail(ws, ap, bptr, kc, ic, mc, jc+jr, nr, useBias, flags)
					}
					for ir := ir0; ir < mc; ir += gemmMR {
						mr := min(gemmMR, mc-ir)
						aptr := &ap[ir*kc]
						row := ic + ir
						if mr == gemmMR && (nr == gemmNR || nr == 8) {
							bias := &zeroBias[0]
							if useBias {
								bias = &j.bias[row : row+gemmMR][0]
							}
							coff := row*j.ldc + jc + jr
							_ = j.c[coff+(gemmMR-1)*j.ldc+nr-1]
							if nr == gemmNR {
								sgemmKernel6x16(kc, aptr, bptr, ldb, &j.c[coff], j.ldc, bias, flags)
							} else {
								sgemmKernel6x8(kc, aptr, bptr, ldb, &j.c[coff], j.ldc, bias, flags)
							}
							continue
						}
						j.edgeTile(ws, kc, aptr, bptr, ldb, row, jc+jr, mr, nr, useBias, flags)
					}
				}
			}
		}
	}
}

// tilesZ computes rows [ic+ir0, ic+mc) of an nr-column block (nr ≤ 16,
// or 32 for a full column pair of B read in place) with the AVX-512
// kernels: three 6-row panels at a time on 16 columns, two on 32. The
// kernels write only the rows and columns that exist (a ragged B panel is
// packed with zeros past nr), so no tile goes through edgeTile. Each entry
// is the sum the 6×16 AVX2 kernel gives, bit for bit.
func (j *gemmJob) tilesZ(ap []float32, bptr *float32, ldb, kc, ic, ir0, mc, col, nr int, useBias bool, flags int) {
	cols, maxNP := uint16(1<<nr-1), 3
	if nr == 2*gemmNR {
		cols, maxNP = 0xffff, 2
	}
	for ir := ir0; ir < mc; {
		np := min(maxNP, (mc-ir+gemmMR-1)/gemmMR)
		m := min(np*gemmMR, mc-ir)
		row := ic + ir
		bias := &zeroBias[0]
		if useBias {
			bias = &j.bias[row : row+m][0]
		}
		coff := row*j.ldc + col
		_ = j.c[coff+(m-1)*j.ldc+nr-1]
		_ = ap[(ir+np*gemmMR)*kc-1]
		aptr := &ap[ir*kc]
		kernel := sgemmKernelZ6x16
		switch {
		case nr == 2*gemmNR && np == 2:
			kernel = sgemmKernelZ12x32
		case nr == 2*gemmNR:
			kernel = sgemmKernelZ6x32
		case np == 3:
			kernel = sgemmKernelZ18x16
		case np == 2:
			kernel = sgemmKernelZ12x16
		}
		kernel(kc, aptr, gemmMR*kc, bptr, ldb, &j.c[coff], j.ldc, bias, flags, m, cols)
		ir += np * gemmMR
	}
}

// gemmTileZGeneric is the contract of the AVX-512 tile kernels in plain
// Go: np 6-row A panels lda elements apart times an nr-wide B panel, the
// first m rows and nr columns stored.
func gemmTileZGeneric(np, nr, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags, m int) {
	var t [gemmMR * gemmNR]float32
	for p := 0; p < np && p*gemmMR < m; p++ {
		gemmKernelGeneric(nr, k, a[p*lda:], b, ldb, t[:], gemmNR, zeroBias[:], 0)
		for i := 0; i < gemmMR && p*gemmMR+i < m; i++ {
			r := p*gemmMR + i
			for x := 0; x < nr; x++ {
				v := t[i*gemmNR+x] + bias[r]
				if flags&kernAccumulate != 0 {
					v += c[r*ldc+x]
				}
				if flags&kernReLU != 0 && v < 0 {
					v = 0
				}
				c[r*ldc+x] = v
			}
		}
	}
}

// edgeTile computes a tile of mr<6 rows or nr∉{8,16} columns through the
// temporary tile.
func (j *gemmJob) edgeTile(ws *gemmWS, kc int, aptr, bptr *float32, ldb, row, col, mr, nr int, useBias bool, flags int) {
	t := &ws.tmp
	if nr <= 8 {
		sgemmKernel6x8(kc, aptr, bptr, ldb, &t[0], gemmNR, &zeroBias[0], 0)
	} else {
		sgemmKernel6x16(kc, aptr, bptr, ldb, &t[0], gemmNR, &zeroBias[0], 0)
	}
	for i := 0; i < mr; i++ {
		for x := 0; x < nr; x++ {
			j.store(row+i, col+x, t[i*gemmNR+x], useBias, flags)
		}
	}
}

// store finishes one entry of C from its product sum s the way the tile
// kernels' epilogue does: plus the bias (zero when not useBias), plus C
// (kernAccumulate), then ReLU (kernReLU).
func (j *gemmJob) store(row, col int, s float32, useBias bool, flags int) {
	var bv float32
	if useBias {
		bv = j.bias[row]
	}
	ci := row*j.ldc + col
	s += bv
	if flags&kernAccumulate != 0 {
		s += j.c[ci]
	}
	if flags&kernReLU != 0 && s < 0 {
		s = 0
	}
	j.c[ci] = s
}

// gemmPacked is the fast path of Gemm: the packed driver with the
// assembly micro-kernels, reading transposed operands in the packing.
func gemmPacked(c, a, b []float32, p GemmParams, parallel bool) {
	j := gemmJobPool.Get().(*gemmJob)
	*j = gemmJob{
		m: p.M, n: p.N, k: p.K,
		a: a, lda: p.LDA, transA: p.TransA,
		b: b, ldb: p.LDB, transB: p.TransB,
		c: c, ldc: p.LDC, accumulate: p.Accumulate,
	}
	gemmFast(j, parallel)
	*j = gemmJob{}
	gemmJobPool.Put(j)
}

// gemmBiasAct computes C(M×N) = A(M×K)·B(K×N) + bias[row], then act, with
// A either raw row-major (a) or pre-packed (pa); it is the fused pointwise
// and im2col convolution. It needs useAVX2.
func gemmBiasAct(c, a []float32, pa *packedA, b []float32, m, n, k int, bias []float32, act Activation, parallel bool) {
	gemmBiasActLDC(c, n, a, pa, b, m, n, k, bias, act, parallel)
}

// gemmBiasActLDC is gemmBiasAct writing rows of C ldc elements apart.
func gemmBiasActLDC(c []float32, ldc int, a []float32, pa *packedA, b []float32, m, n, k int, bias []float32, act Activation, parallel bool) {
	j := gemmJobPool.Get().(*gemmJob)
	*j = gemmJob{
		m: m, n: n, k: k,
		a: a, lda: k, pa: pa,
		b: b, ldb: n,
		c: c, ldc: ldc,
		bias: bias, relu: act == ActReLU,
	}
	gemmFast(j, parallel)
	*j = gemmJob{}
	gemmJobPool.Put(j)
}
