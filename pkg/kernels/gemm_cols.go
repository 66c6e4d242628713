package kernels

import "unsafe"

// The column kernels of the GEMM driver: tails of 1-3 columns (a 7×7
// plane has 49 columns, a batch-1 classifier head one), where a tile
// kernel would spend a whole FMA latency chain per k step.

// colTail computes columns [col, col+nr) of the rows of full groups of
// four 6-row panels in [ic, ic+mc) with sgemmKernel24x1, from the A block
// ap and the packed 16-wide B panel at bptr, and returns the row offset
// (within the block) where it stopped; edgeTile does the rest. The sums
// are those of the 6×8 kernel bit for bit.
func (j *gemmJob) colTail(ws *gemmWS, ap []float32, bptr *float32, kc, ic, mc, col, nr int, useBias bool, flags int) int {
	const group = 4 * gemmMR
	full := mc / group * group
	if full == 0 {
		return 0
	}
	bpan := unsafe.Slice(bptr, gemmNR*kc)
	t := &ws.col
	for ir := 0; ir < full; ir += group {
		for x := 0; x < nr; x++ {
			sgemmKernel24x1(kc, &ap[ir*kc], gemmMR*kc, &bpan[x], gemmNR, &t[0])
			for p := 0; p < 4; p++ {
				for i := 0; i < gemmMR; i++ {
					row := ic + ir + p*gemmMR + i
					j.store(row, col+x, t[p*8+i], useBias, flags)
				}
			}
		}
	}
	return full
}

// colTailZ is colTail on AVX-512 machines for 1 or 2 columns (zColMax):
// the sgemmKernelZCol kernels run 8 A panels at a time, each panel step one
// masked FMA. (Wider tails run faster as masked tiles: 256×196×256 with
// the 4-column tail in column kernels 143 µs, in a masked tile 141 µs;
// 768×196×768 1348 vs 1313 µs. One column in a tile: the head at batch 1,
// 1000×1×1024, 174 vs 76 µs.)
func (j *gemmJob) colTailZ(ws *gemmWS, ap []float32, bptr *float32, kc, ic, mc, col, nr int, useBias bool, flags int) int {
	const np = 8
	group := np * gemmMR
	full := mc / group * group
	if full == 0 {
		return 0
	}
	bpan := unsafe.Slice(bptr, gemmNR*kc)
	t := &ws.colZ
	for ir := 0; ir < full; ir += group {
		a := &ap[ir*kc]
		if nr == 1 {
			sgemmKernelZCol1(kc, a, gemmMR*kc, &bpan[0], gemmNR, &t[0])
		} else {
			sgemmKernelZCol2(kc, a, gemmMR*kc, &bpan[0], gemmNR, &t[0])
		}
		for x := 0; x < nr; x++ {
			for p := 0; p < np; p++ {
				row := ic + ir + p*gemmMR
				for i := 0; i < gemmMR; i++ {
					j.store(row+i, col+x, t[(x*np+p)*8+i], useBias, flags)
				}
			}
		}
	}
	return full
}

// gemmColZGeneric is the sgemmKernelZCol contract in plain Go.
func gemmColZGeneric(np, nc, k int, a []float32, lda int, b []float32, ldb int, out []float32) {
	for x := 0; x < nc; x++ {
		for p := 0; p < np; p++ {
			o := out[(x*np+p)*8:][:8]
			for i := 0; i < gemmMR; i++ {
				var s float32
				for kk := 0; kk < k; kk++ {
					s += a[p*lda+kk*gemmMR+i] * b[kk*ldb+x]
				}
				o[i] = s
			}
			o[6], o[7] = 0, 0
		}
	}
}

// gemmCol24Generic is the sgemmKernel24x1 contract in plain Go.
func gemmCol24Generic(k int, a []float32, lda int, b []float32, ldb int, out []float32) {
	for p := 0; p < 4; p++ {
		for i := 0; i < gemmMR; i++ {
			var s float32
			for kk := 0; kk < k; kk++ {
				s += a[p*lda+kk*gemmMR+i] * b[kk*ldb]
			}
			out[p*8+i] = s
		}
		out[p*8+6], out[p*8+7] = 0, 0
	}
}
