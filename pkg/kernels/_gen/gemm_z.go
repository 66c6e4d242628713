package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genSgemmZ emits sgemmKernelZ{6·np}x{16·nv}, the AVX-512 tile kernel: np
// packed 6-row A panels (lda elements apart) times a B panel of nv ZMM
// vectors per row, 6·np·nv accumulators out of the 32 ZMM registers. Each
// output is one FMA chain in k order from zero, then + bias, + C, ReLU: the
// sums of sgemmKernel6x16 and sgemmKernel6x8 bit for bit.
func genSgemmZ(np, nv int) {
	rows, cols := mr*np, 16*nv
	name := fmt.Sprintf("sgemmKernelZ%dx%d", rows, cols)
	TEXT(name, NOSPLIT, "func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int, m int, cols uint16)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes one %d×%d tile of C from %d packed 6-row A panels (k ≥ 1):", name, rows, cols, np),
		"",
		fmt.Sprintf("\tfor i < %d, j < %d:", rows, cols),
		"\t\td := 0",
		"\t\tfor kk < k: d += a[(i/6)*lda+kk*6+i%6] * b[kk*ldb+j]  // FMA, vectorised over j",
		"\t\tif i >= m || cols&(1<<j) == 0 { continue }  // C and bias are not touched there",
		"\t\ts := bias[i] + d",
		"\t\tif flags&1 != 0 { s += c[i*ldc+j] }",
		"\t\tif flags&2 != 0 && s < 0 { s = 0 }",
		"\t\tc[i*ldc+j] = s",
		"",
		"lda, ldb and ldc are in elements, m ≥ 1; it needs AVX-512F.",
	)
	k := Load(Param("k"), GP64())
	pa := panelPointers(np)
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	{
		r := GP64()
		MOVQ(c, r)
		for i := 0; i < rows; i++ {
			// a row of the tile may straddle one more cache line
			for v := 0; v < nv; v++ {
				PREFETCHT0(Mem{Base: r, Disp: 64 * v})
			}
			PREFETCHT0(Mem{Base: r, Disp: 64*nv - 4})
			if i < rows-1 {
				ADDQ(ldc, r)
			}
		}
	}
	acc, bv := tileRegisters(rows, nv, ZMM, VPXORD)
	var av []reg.VecVirtual
	if nv > 1 {
		av = []reg.VecVirtual{ZMM(), ZMM()}
	}
	ldb, _, rowOf := bRows(b)
	pf := GP64()
	step := func(u int) {
		row := rowOf(u)
		for v := 0; v < nv; v++ {
			m := row
			m.Disp += 64 * v
			VMOVUPS(m, bv[v])
		}
		for i := 0; i < rows; i++ {
			m := Mem{Base: pa[i/mr], Disp: (u*mr + i%mr) * 4}
			if nv == 1 {
				VFMADD231PS_BCST(m, bv[0], acc[i][0])
				continue
			}
			// a wider tile loads each A element once into a register
			t := av[i%len(av)]
			VBROADCASTSS(m, t)
			for v := 0; v < nv; v++ {
				VFMADD231PS(t, bv[v], acc[i][v])
			}
		}
	}
	const unroll = 4
	CMPQ(k, U8(unroll))
	JL(LabelRef(name + "_tail"))
	Label(name + "_loop4")
	LEAQ(Mem{Base: b, Index: ldb, Scale: 8}, pf)
	for u := 0; u < unroll; u++ {
		m := rowOf(u)
		m.Base = pf
		for v := 0; v < nv; v++ {
			mm := m
			mm.Disp += 64 * v
			PREFETCHT0(mm)
		}
		if u == 2 {
			for p := range pa {
				PREFETCHT0(Mem{Base: pa[p], Disp: 384})
			}
		}
		step(u)
	}
	for p := range pa {
		ADDQ(U32(unroll*mr*4), pa[p])
	}
	LEAQ(Mem{Base: b, Index: ldb, Scale: 4}, b)
	SUBQ(U8(unroll), k)
	CMPQ(k, U8(unroll))
	JGE(LabelRef(name + "_loop4"))

	Label(name + "_tail")
	TESTQ(k, k)
	JZ(LabelRef(name + "_store"))
	Label(name + "_loop1")
	step(0)
	for p := range pa {
		ADDQ(U32(mr*4), pa[p])
	}
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef(name + "_loop1"))

	Label(name + "_store")
	// Row by row, the first m rows only (the last A panel of a matrix
	// whose row count is not a multiple of 6 is zero-padded; its pad rows
	// are computed but neither read from nor written to C or bias).
	bias := Load(Param("bias"), GP64())
	flags := Load(Param("flags"), GP64())
	m := Load(Param("m"), GP64())
	zero := bv[0]
	VPXORD(zero, zero, zero)
	// the columns of C that exist: a ragged last B panel is zero-padded
	cm := K()
	KMOVW(Load(Param("cols"), GP32()), cm)
	for i := 0; i < rows; i++ {
		if i > 0 {
			CMPQ(m, U8(i))
			JLE(LabelRef(name + "_done"))
		}
		row := fmt.Sprintf("%s_r%d", name, i)
		for v := 0; v < nv; v++ {
			VADDPS_BCST(Mem{Base: bias, Disp: 4 * i}, acc[i][v], acc[i][v])
		}
		TESTQ(U32(1), flags)
		JZ(LabelRef(row + "_noacc"))
		for v := 0; v < nv; v++ {
			VADDPS(Mem{Base: c, Disp: 64 * v}, acc[i][v], cm, acc[i][v])
		}
		Label(row + "_noacc")
		TESTQ(U32(2), flags)
		JZ(LabelRef(row + "_norelu"))
		for v := 0; v < nv; v++ {
			// max(0, s) keeping NaN and −0 as the Go loop does
			VMAXPS(acc[i][v], zero, acc[i][v])
		}
		Label(row + "_norelu")
		for v := 0; v < nv; v++ {
			VMOVUPS(acc[i][v], cm, Mem{Base: c, Disp: 64 * v})
		}
		if i < rows-1 {
			ADDQ(ldc, c)
		}
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// genSgemmZCol emits sgemmKernelZCol{nc}: nc (1 or 2) columns of np packed
// 6-row A panels, for the narrow column tails of a GEMM (a 7×7 plane has
// 49 = 3·16+1 columns, a batch-1 head one) on AVX-512 machines. Each panel step is one FMA with a memory operand masked to its
// six rows (AVX-512VL), so np·nc chains run at once and no lane is wasted
// on rows of the next step. Each entry is one FMA chain in k order from
// zero, as in the tile kernels, so a column gives bit for bit the sums of
// whichever kernel computes it.
func genSgemmZCol(np, nc int) {
	name := fmt.Sprintf("sgemmKernelZCol%d", nc)
	TEXT(name, NOSPLIT, "func(k int, a *float32, lda int, b *float32, ldb int, out *float32)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s writes out[(x*%d+p)*8+i] = Σ_{kk<k} a[p*lda+kk*6+i]·b[kk*ldb+x] for x < %d,", name, np, nc),
		fmt.Sprintf("p < %d, i < 6, each sum one FMA chain in kk order from zero, and zeros to lanes 6 and 7", np),
		"(k ≥ 1; lda, ldb in elements; it needs AVX-512F and VL).",
	)
	k := Load(Param("k"), GP64())
	pa := panelPointers(np)
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	mask := K()
	m := GP32()
	MOVL(U32(0x3f), m)
	KMOVW(m, mask)
	// acc[x][p]: column x of panel p; bv[x]: the broadcast b of column x
	acc, bv := tileRegisters(nc, np, YMM, VPXORD)
	off := GP64()
	XORQ(off, off)
	Label(name + "_loop")
	for p := 0; p < np; p++ {
		PREFETCHT0(Mem{Base: pa[p], Index: off, Scale: 1, Disp: 768})
	}
	for x := 0; x < nc; x++ {
		VBROADCASTSS(Mem{Base: b, Disp: 4 * x}, bv[x])
	}
	for p := 0; p < np; p++ {
		for x := 0; x < nc; x++ {
			VFMADD231PS(Mem{Base: pa[p], Index: off, Scale: 1}, bv[x], mask, acc[x][p])
		}
	}
	ADDQ(U8(24), off)
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))
	out := Load(Param("out"), GP64())
	for x := 0; x < nc; x++ {
		for p := 0; p < np; p++ {
			VMOVUPS(acc[x][p], Mem{Base: out, Disp: 32 * (x*np + p)})
		}
	}
	VZEROUPPER()
	RET()
}
