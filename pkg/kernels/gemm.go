package kernels

// GemmParams describes C = op(A)·op(B) (+ C when Accumulate) for row-major
// matrices: op(A) is M×K, op(B) is K×N and C is M×N. TransA means A is
// stored K×M (op(A) = Aᵀ), TransB means B is stored N×K. LDA, LDB and LDC
// are the row strides of the stored matrices (0 means tightly packed).
type GemmParams struct {
	M, N, K        int
	TransA, TransB bool
	LDA, LDB, LDC  int
	Accumulate     bool
}

func (p GemmParams) withDefaults() GemmParams {
	if p.LDA == 0 {
		if p.TransA {
			p.LDA = p.M
		} else {
			p.LDA = p.K
		}
	}
	if p.LDB == 0 {
		if p.TransB {
			p.LDB = p.K
		} else {
			p.LDB = p.N
		}
	}
	if p.LDC == 0 {
		p.LDC = p.N
	}
	return p
}

func (p GemmParams) check(c, a, b []float32) {
	if p.M < 0 || p.N < 0 || p.K < 0 {
		panic("kernels: negative GEMM dimension")
	}
	if p.M == 0 || p.N == 0 {
		return
	}
	ra, ca := p.M, p.K
	if p.TransA {
		ra, ca = p.K, p.M
	}
	rb, cb := p.K, p.N
	if p.TransB {
		rb, cb = p.N, p.K
	}
	if p.K > 0 && (p.LDA < ca || len(a) < (ra-1)*p.LDA+ca) {
		panic("kernels: GEMM A too short")
	}
	if p.K > 0 && (p.LDB < cb || len(b) < (rb-1)*p.LDB+cb) {
		panic("kernels: GEMM B too short")
	}
	if p.LDC < p.N || len(c) < (p.M-1)*p.LDC+p.N {
		panic("kernels: GEMM C too short")
	}
}

// GemmRef is the reference GEMM: the textbook triple loop, accumulating each
// dot product in float64.
//
//	for i, j: C[i][j] = (Accumulate ? C[i][j] : 0) + Σ_k op(A)[i][k]·op(B)[k][j]
func GemmRef(c, a, b []float32, p GemmParams) {
	p = p.withDefaults()
	p.check(c, a, b)
	for i := 0; i < p.M; i++ {
		for j := 0; j < p.N; j++ {
			var s float64
			for k := 0; k < p.K; k++ {
				var av, bv float32
				if p.TransA {
					av = a[k*p.LDA+i]
				} else {
					av = a[i*p.LDA+k]
				}
				if p.TransB {
					bv = b[j*p.LDB+k]
				} else {
					bv = b[k*p.LDB+j]
				}
				s += float64(av) * float64(bv)
			}
			if p.Accumulate {
				s += float64(c[i*p.LDC+j])
			}
			c[i*p.LDC+j] = float32(s)
		}
	}
}

// Gemm computes C = op(A)·op(B) (+ C), spreading rows or columns of C over
// the package's goroutines when the product is large enough to pay for it.
// With AVX2 and FMA it runs the packed driver and the assembly
// micro-kernel; transposed operands are read directly by the packing.
func Gemm(c, a, b []float32, p GemmParams) { gemm(c, a, b, p, true) }

// gemmSerial is Gemm on the calling goroutine only.
func gemmSerial(c, a, b []float32, p GemmParams) { gemm(c, a, b, p, false) }

func gemm(c, a, b []float32, p GemmParams, parallel bool) {
	p = p.withDefaults()
	p.check(c, a, b)
	if p.M == 0 || p.N == 0 {
		return
	}
	if p.K == 0 {
		if !p.Accumulate {
			for i := 0; i < p.M; i++ {
				clear(c[i*p.LDC : i*p.LDC+p.N])
			}
		}
		return
	}
	if useAVX2 {
		gemmPacked(c, a, b, p, parallel)
		return
	}
	// Operands stored transposed are copied into row-major scratch first;
	// the copy is O(M·K + K·N), small next to the O(M·N·K) product.
	var abuf, bbuf *[]float32
	if p.TransA {
		abuf = buffers.Get(p.M * p.K)
		transpose(*abuf, a, p.K, p.M, p.LDA)
		a, p.LDA, p.TransA = *abuf, p.K, false
	}
	if p.TransB {
		bbuf = buffers.Get(p.K * p.N)
		transpose(*bbuf, b, p.N, p.K, p.LDB)
		b, p.LDB, p.TransB = *bbuf, p.N, false
	}
	work := p.M * p.N * p.K
	switch {
	case work < 1<<18 || Threads() == 1 || !parallel:
		gemmNN(c, a, b, p, 0, p.M, 0, p.N)
	case p.M >= 8*Threads():
		parallelFor(p.M/4, 2, func(lo, hi int) {
			hiRow := hi * 4
			if hi == p.M/4 {
				hiRow = p.M
			}
			gemmNN(c, a, b, p, lo*4, hiRow, 0, p.N)
		})
	default:
		parallelFor(p.N/16, 4, func(lo, hi int) {
			hiCol := hi * 16
			if hi == p.N/16 {
				hiCol = p.N
			}
			gemmNN(c, a, b, p, 0, p.M, lo*16, hiCol)
		})
	}
	if abuf != nil {
		buffers.Put(abuf)
	}
	if bbuf != nil {
		buffers.Put(bbuf)
	}
}

// transpose writes the cols×rows transpose of the rows×cols matrix src
// (row stride lds) into dst, tightly packed.
func transpose(dst, src []float32, rows, cols, lds int) {
	const blk = 32
	for i0 := 0; i0 < rows; i0 += blk {
		i1 := min(i0+blk, rows)
		for j0 := 0; j0 < cols; j0 += blk {
			j1 := min(j0+blk, cols)
			for i := i0; i < i1; i++ {
				row := src[i*lds : i*lds+cols]
				for j := j0; j < j1; j++ {
					dst[j*rows+i] = row[j]
				}
			}
		}
	}
}

// gemmNN is the plain-Go blocked kernel for rows [i0,i1) and columns
// [j0,j1) of C with both operands row-major: four rows of C at a time,
// k in blocks that keep a panel of B in cache, j innermost (unit stride).
func gemmNN(c, a, b []float32, p GemmParams, i0, i1, j0, j1 int) {
	const kc, nc = 256, 512
	lda, ldb, ldc := p.LDA, p.LDB, p.LDC
	for jb := j0; jb < j1; jb += nc {
		je := min(jb+nc, j1)
		w := je - jb
		for kb := 0; kb < p.K; kb += kc {
			ke := min(kb+kc, p.K)
			first := kb == 0 && !p.Accumulate
			i := i0
			for ; i+4 <= i1; i += 4 {
				c0 := c[i*ldc+jb : i*ldc+jb+w]
				c1 := c[(i+1)*ldc+jb : (i+1)*ldc+jb+w]
				c2 := c[(i+2)*ldc+jb : (i+2)*ldc+jb+w]
				c3 := c[(i+3)*ldc+jb : (i+3)*ldc+jb+w]
				if first {
					clear(c0)
					clear(c1)
					clear(c2)
					clear(c3)
				}
				for k := kb; k < ke; k++ {
					a0, a1, a2, a3 := a[i*lda+k], a[(i+1)*lda+k], a[(i+2)*lda+k], a[(i+3)*lda+k]
					br := b[k*ldb+jb : k*ldb+jb+w]
					c0, c1, c2, c3 := c0[:len(br)], c1[:len(br)], c2[:len(br)], c3[:len(br)]
					for j, bv := range br {
						c0[j] += a0 * bv
						c1[j] += a1 * bv
						c2[j] += a2 * bv
						c3[j] += a3 * bv
					}
				}
			}
			for ; i < i1; i++ {
				c0 := c[i*ldc+jb : i*ldc+jb+w]
				if first {
					clear(c0)
				}
				for k := kb; k < ke; k++ {
					a0 := a[i*lda+k]
					br := b[k*ldb+jb : k*ldb+jb+w]
					c0 := c0[:len(br)]
					for j, bv := range br {
						c0[j] += a0 * bv
					}
				}
			}
		}
	}
}
