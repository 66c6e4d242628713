package kernels

import "fmt"

// Linear computes out = in·Wᵀ + bias for n vectors at once with the
// pointwise conv c on a 1×1 plane (a fully connected layer, such as the
// classifier head): in holds n rows of InC values, out n rows of OutC. The
// rows go side by side as the pixels of one plane, so the kernels read the
// weights once for the batch instead of once per row; row i's values are
// those of c.Forward on row i alone, bit for bit (the sums of a pixel do
// not depend on the tile it runs in). The output groups are split over
// Threads() goroutines.
//
// s0's head (1024 → 1000) on 32 rows, Zen 5 (BenchmarkLinear): 346 µs on
// one thread, 227 on two (236 with the weights cold), against the NCHW
// GEMM over the batch, 377 and 301 µs.
func (c *BlockedConv) Linear(out, in []float32, n int) {
	p := c.p
	if c.kind != blockedPW || p.InH*p.InW != 1 || p.N != 1 {
		panic(fmt.Sprintf("kernels: Linear needs a pointwise conv on one 1×1 plane, have %+v", p))
	}
	if n < 0 || len(in) < n*p.InC || len(out) < n*p.OutC {
		panic("kernels: linear input or output too short")
	}
	nblk := len(c.bias) / BlockC
	x := buffers.Get(p.InC * n)
	y := buffers.Get(nblk * BlockC * n)
	rowsToBlocked(*x, in, n, p.InC)
	t := blockedTaskPool.Get().(*blockedTask)
	*t = blockedTask{c: c, out: *y, in: *x, vectors: n}
	t.run(len(c.groups), n*p.MACs(), Threads())
	*t = blockedTask{}
	blockedTaskPool.Put(t)
	blockedToRows(out, *y, n, p.OutC)
	buffers.Put(x)
	buffers.Put(y)
}

// rowsToBlocked writes n rows of c values (c a multiple of BlockC) as the
// pixels of one blocked plane: value j of row i at ((j/BlockC)·n + i)·BlockC
// + j%BlockC.
func rowsToBlocked(dst, src []float32, n, c int) {
	for i := 0; i < n; i++ {
		row := src[i*c : (i+1)*c]
		for b := 0; b < c; b += BlockC {
			copy(dst[(b*n + i*BlockC):][:BlockC], row[b:b+BlockC])
		}
	}
}

// blockedToRows is the inverse of rowsToBlocked for c values per row,
// where the plane holds whole blocks (the last one's channels past c are
// dropped).
func blockedToRows(dst, src []float32, n, c int) {
	for i := 0; i < n; i++ {
		row := dst[i*c : (i+1)*c]
		for b := 0; b < c; b += BlockC {
			copy(row[b:min(c, b+BlockC)], src[(b*n+i*BlockC):])
		}
	}
}
