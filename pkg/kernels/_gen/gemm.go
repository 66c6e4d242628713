package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genSgemm emits sgemmKernel6xN with N = 8·nvec: a register-blocked
// 6×N tile of C computed from a packed A panel (k×6, row i of step kk at
// a[kk·6+i]) and a B panel whose row kk starts at b[kk·ldb]: ldb = 16 for a
// packed panel, the matrix row stride when B is read in place.
func genSgemm(nvec int) {
	name := fmt.Sprintf("sgemmKernel6x%d", 8*nvec)
	TEXT(name, NOSPLIT, "func(k int, a, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes one %d×%d tile of C from packed panels (k ≥ 1):", name, mr, 8*nvec),
		"",
		fmt.Sprintf("\tfor i < %d, j < %d:", mr, 8*nvec),
		"\t\ts := bias[i]",
		"\t\tfor kk < k: s += a[kk*6+i] * b[kk*ldb+j]  // FMA, vectorised over j",
		"\t\tif flags&1 != 0 { s += c[i*ldc+j] }         // accumulate into C",
		"\t\tif flags&2 != 0 && s < 0 { s = 0 }          // fused ReLU",
		"\t\tc[i*ldc+j] = s",
		"",
		"ldb and ldc are in elements. gemmKernelGeneric is this loop in Go.",
	)
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)

	// Prefetch the C tile while the products are computed.
	{
		r := GP64()
		MOVQ(c, r)
		for i := 0; i < mr; i++ {
			PREFETCHT0(Mem{Base: r})
			if nvec == 2 {
				PREFETCHT0(Mem{Base: r, Disp: 60})
			}
			if i < mr-1 {
				ADDQ(ldc, r)
			}
		}
	}

	acc, bv := tileRegisters(mr, nvec, YMM, VXORPS)
	t := YMM()

	ldb, ldb3, rowOf := bRows(b)
	pf := GP64()
	step := func(u int) {
		row := rowOf(u)
		for v := 0; v < nvec; v++ {
			m := row
			m.Disp += 32 * v
			VMOVUPS(m, bv[v])
		}
		for i := 0; i < mr; i++ {
			VBROADCASTSS(Mem{Base: a, Disp: (u*mr + i) * 4}, t)
			for v := 0; v < nvec; v++ {
				VFMADD231PS(bv[v], t, acc[i][v])
			}
		}
	}

	const unroll = 4
	CMPQ(k, U8(unroll))
	JL(LabelRef(name + "_tail"))
	Label(name + "_loop4")
	// Prefetch B rows 8..11 ahead of this step and A 16 steps ahead.
	LEAQ(Mem{Base: b, Index: ldb, Scale: 8}, pf)
	PREFETCHT0(Mem{Base: pf})
	PREFETCHT0(Mem{Base: pf, Index: ldb, Scale: 1})
	for u := 0; u < unroll; u++ {
		if u == 2 {
			PREFETCHT0(Mem{Base: a, Disp: 384})
			PREFETCHT0(Mem{Base: pf, Index: ldb, Scale: 2})
			PREFETCHT0(Mem{Base: pf, Index: ldb3, Scale: 1})
		}
		step(u)
	}
	ADDQ(U32(unroll*mr*4), a)
	LEAQ(Mem{Base: b, Index: ldb, Scale: 4}, b)
	SUBQ(U8(unroll), k)
	CMPQ(k, U8(unroll))
	JGE(LabelRef(name + "_loop4"))

	Label(name + "_tail")
	TESTQ(k, k)
	JZ(LabelRef(name + "_store"))
	Label(name + "_loop1")
	step(0)
	ADDQ(U32(mr*4), a)
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef(name + "_loop1"))

	Label(name + "_store")
	bias := Load(Param("bias"), GP64())
	for i := 0; i < mr; i++ {
		VBROADCASTSS(Mem{Base: bias, Disp: 4 * i}, t)
		for v := 0; v < nvec; v++ {
			VADDPS(t, acc[i][v], acc[i][v])
		}
	}
	tileEpilogue(name, acc, c, ldc, t)
}

// genSgemmCol4 emits sgemmKernel24x1: one column of four 6-row A panels,
// for the 1–3 column tails of a GEMM (a 7×7 plane has 49 columns; a batch-1
// classifier head has one). The 6×8 kernel spends a whole FMA latency chain
// per k step on such a tail; here four panels share the broadcast B value,
// so four chains run at once. Each row is still one FMA chain in k order,
// as in the 6×16 and 6×8 kernels, so a column gives bit for bit the same
// sums whichever kernel computes it. A step's six A values are loaded as
// four plus two floats, never reading past the panel.
func genSgemmCol4() {
	TEXT("sgemmKernel24x1", NOSPLIT, "func(k int, a *float32, lda int, b *float32, ldb int, out *float32)")
	Pragma("noescape")
	Doc(
		"sgemmKernel24x1 writes out[p*8+i] = Σ_{kk<k} a[p*lda+kk*6+i]·b[kk*ldb] for p < 4,",
		"i < 6, each sum one FMA chain in kk order from zero, and zeros to out[p*8+6:p*8+8]",
		"(k ≥ 1; lda, ldb in elements).",
	)
	k := Load(Param("k"), GP64())
	a0 := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	pa := []reg.Register{a0, GP64(), GP64(), GP64()}
	for p := 1; p < 4; p++ {
		LEAQ(Mem{Base: pa[p-1], Index: lda, Scale: 1}, pa[p])
	}
	acc := []reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
	for _, v := range acc {
		VXORPS(v, v, v)
	}
	bv := YMM()
	lo := []reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
	hi := []reg.VecVirtual{XMM(), XMM(), XMM(), XMM()}
	Label("col4_loop")
	VBROADCASTSS(Mem{Base: b}, bv)
	for p := 0; p < 4; p++ {
		VMOVUPS(Mem{Base: pa[p]}, lo[p].AsX())
		VMOVSD(Mem{Base: pa[p], Disp: 16}, hi[p])
		VINSERTF128(U8(1), hi[p], lo[p], lo[p])
		VFMADD231PS(lo[p], bv, acc[p])
		ADDQ(U8(24), pa[p])
	}
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef("col4_loop"))
	out := Load(Param("out"), GP64())
	for p := 0; p < 4; p++ {
		VMOVUPS(acc[p], Mem{Base: out, Disp: 32 * p})
	}
	VZEROUPPER()
	RET()
}

// genPrefetchRows emits prefetchRows: PREFETCHT1 (into L2) of the 64 bytes
// at each of n rows ld elements apart (both cache lines when a row
// straddles two). The GEMM driver issues it for the next B micro-panel
// read in place, so the panel's rows arrive from L3 or memory while the
// current one is multiplied; the kernel's own prefetch, a few rows ahead,
// then only has L2 latency to hide.
func genPrefetchRows() {
	TEXT("prefetchRows", NOSPLIT, "func(p *float32, ld int, n int)")
	Pragma("noescape")
	Doc("prefetchRows prefetches p[i*ld : i*ld+16] into L2 for i < n (n ≥ 1; ld in elements).")
	p := Load(Param("p"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	n := Load(Param("n"), GP64())
	Label("pfrows_loop")
	PREFETCHT1(Mem{Base: p})
	PREFETCHT1(Mem{Base: p, Disp: 60})
	ADDQ(ld, p)
	DECQ(n)
	JNZ(LabelRef("pfrows_loop"))
	RET()
}

// bRows loads the ldb parameter (in bytes from then on) and returns it, 3·ldb
// and the address of B row u (0 ≤ u < 4) of the current k step.
func bRows(b reg.Register) (ldb, ldb3 reg.Register, rowOf func(u int) Mem) {
	ldb = Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	ldb3 = GP64()
	LEAQ(Mem{Base: ldb, Index: ldb, Scale: 2}, ldb3)
	return ldb, ldb3, func(u int) Mem {
		switch u {
		case 0:
			return Mem{Base: b}
		case 1:
			return Mem{Base: b, Index: ldb, Scale: 1}
		case 2:
			return Mem{Base: b, Index: ldb, Scale: 2}
		}
		return Mem{Base: b, Index: ldb3, Scale: 1}
	}
}

// tileEpilogue ends an AVX2 tile kernel whose accumulators acc[i][v] (YMM)
// hold the product sums plus the bias: adds C when flags&1, clamps at 0
// when flags&2, stores the tile at c (rows ldc bytes apart) and returns. t
// is a free vector register. (The AVX-512 tiles store through row and
// column masks instead, in genSgemmZ.)
func tileEpilogue(name string, acc [][]reg.VecVirtual, c, ldc reg.Register, t reg.VecVirtual) {
	const vbytes = 32
	flags := Load(Param("flags"), GP64())
	r := GP64()
	TESTQ(U32(1), flags)
	JZ(LabelRef(name + "_noacc"))
	MOVQ(c, r)
	for i := range acc {
		for v := range acc[i] {
			VADDPS(Mem{Base: r, Disp: vbytes * v}, acc[i][v], acc[i][v])
		}
		if i < len(acc)-1 {
			ADDQ(ldc, r)
		}
	}
	Label(name + "_noacc")
	TESTQ(U32(2), flags)
	JZ(LabelRef(name + "_norelu"))
	VXORPS(t, t, t)
	for i := range acc {
		for v := range acc[i] {
			// max(0, s) keeping NaN and −0 as the Go loop does: the
			// second source (acc) is returned on NaN and on equality.
			VMAXPS(acc[i][v], t, acc[i][v])
		}
	}
	Label(name + "_norelu")
	for i := range acc {
		for v := range acc[i] {
			VMOVUPS(acc[i][v], Mem{Base: c, Disp: vbytes * v})
		}
		if i < len(acc)-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// tileRegisters allocates the registers of a register-blocked kernel:
// rows×cols accumulators acc[i][j], each zeroed with zero (VXORPS, or
// VPXORD for EVEX-only code) as it is allocated, and then cols registers
// for the B values of a step.
func tileRegisters(rows, cols int, alloc func() reg.VecVirtual, zero func(...Op)) (acc [][]reg.VecVirtual, bv []reg.VecVirtual) {
	acc = make([][]reg.VecVirtual, rows)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, cols)
		for j := range acc[i] {
			acc[i][j] = alloc()
			zero(acc[i][j], acc[i][j], acc[i][j])
		}
	}
	bv = make([]reg.VecVirtual, cols)
	for j := range bv {
		bv[j] = alloc()
	}
	return acc, bv
}

// panelPointers loads the a parameter and, for np > 1, lda (in elements):
// the addresses of np packed A panels lda elements apart.
func panelPointers(np int) []reg.Register {
	pa := []reg.Register{Load(Param("a"), GP64())}
	if np > 1 {
		lda := Load(Param("lda"), GP64())
		SHLQ(U8(2), lda)
		for p := 1; p < np; p++ {
			r := GP64()
			LEAQ(Mem{Base: pa[p-1], Index: lda, Scale: 1}, r)
			pa = append(pa, r)
		}
	}
	return pa
}
