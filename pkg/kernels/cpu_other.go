//go:build !amd64 || purego

package kernels

import (
	"math/bits"
	"unsafe"
)

// useAVX2 is always false without the assembly kernels (non-amd64 or the
// purego build tag): every kernel takes its portable plain-Go path.
var useAVX2, useAVX512 = false, false

// asmKernels reports whether this build contains the assembly kernels.
const asmKernels = false

// The functions below stand in for the assembly kernels so that the
// blocking drivers compile everywhere; they are the generic Go loops.

func sgemmKernel6x16(k int, a, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int) {
	gemmKernelGeneric(16, k, unsafe.Slice(a, 6*k), unsafe.Slice(b, (k-1)*ldb+16), ldb, unsafe.Slice(c, 5*ldc+16), ldc, unsafe.Slice(bias, 6), flags)
}

func sgemmKernel6x8(k int, a, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int) {
	gemmKernelGeneric(8, k, unsafe.Slice(a, 6*k), unsafe.Slice(b, (k-1)*ldb+8), ldb, unsafe.Slice(c, 5*ldc+8), ldc, unsafe.Slice(bias, 6), flags)
}

func sgemmKernelZ18x16(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags, m int, cols uint16) {
	sgemmKernelZ(3, k, a, lda, b, ldb, c, ldc, bias, flags, m, bits.Len16(cols))
}

func sgemmKernelZ12x16(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags, m int, cols uint16) {
	sgemmKernelZ(2, k, a, lda, b, ldb, c, ldc, bias, flags, m, bits.Len16(cols))
}

func sgemmKernelZ6x16(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags, m int, cols uint16) {
	sgemmKernelZ(1, k, a, lda, b, ldb, c, ldc, bias, flags, m, bits.Len16(cols))
}

func sgemmKernelZ12x32(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags, m int, cols uint16) {
	sgemmKernelZWide(2, k, a, lda, b, ldb, c, ldc, bias, flags, m, cols)
}

func sgemmKernelZ6x32(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags, m int, cols uint16) {
	sgemmKernelZWide(1, k, a, lda, b, ldb, c, ldc, bias, flags, m, cols)
}

// sgemmKernelZWide is a 32-column tile as two 16-column ones (cols masks
// both halves, as in the assembly).
func sgemmKernelZWide(np, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags, m int, cols uint16) {
	for h := 0; h < 2; h++ {
		off := uintptr(16*h) * 4
		sgemmKernelZ(np, k, a, lda, (*float32)(unsafe.Add(unsafe.Pointer(b), off)), ldb,
			(*float32)(unsafe.Add(unsafe.Pointer(c), off)), ldc, bias, flags, m, bits.Len16(cols))
	}
}

func sgemmKernelZ(np, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags, m, nr int) {
	gemmTileZGeneric(np, nr, k, unsafe.Slice(a, (np-1)*lda+6*k), lda, unsafe.Slice(b, (k-1)*ldb+nr), ldb,
		unsafe.Slice(c, (m-1)*ldc+nr), ldc, unsafe.Slice(bias, m), flags, m)
}

func sgemmKernelZCol1(k int, a *float32, lda int, b *float32, ldb int, out *float32) {
	gemmColZGeneric(8, 1, k, unsafe.Slice(a, 7*lda+6*k), lda, unsafe.Slice(b, (k-1)*ldb+1), ldb, unsafe.Slice(out, 64))
}

func sgemmKernelZCol2(k int, a *float32, lda int, b *float32, ldb int, out *float32) {
	gemmColZGeneric(8, 2, k, unsafe.Slice(a, 7*lda+6*k), lda, unsafe.Slice(b, (k-1)*ldb+2), ldb, unsafe.Slice(out, 128))
}

func gatherEven(dst, src *float32, n int) {
	d, s := unsafe.Slice(dst, n), unsafe.Slice(src, 2*n)
	for i := range d {
		d[i] = s[2*i]
	}
}

func prefetchRows(p *float32, ld, n int) {}

func sgemmKernel24x1(k int, a *float32, lda int, b *float32, ldb int, out *float32) {
	gemmCol24Generic(k, unsafe.Slice(a, 3*lda+6*k), lda, unsafe.Slice(b, (k-1)*ldb+1), ldb, unsafe.Slice(out, 32))
}

func dwConv3x3s1Row(out, r0, r1, r2, w *float32, width int, bias *float32, relu int) {
	dwRowGeneric(unsafe.Slice(out, width), [3][]float32{unsafe.Slice(r0, width), unsafe.Slice(r1, width), unsafe.Slice(r2, width)}, unsafe.Slice(w, 9), width, 1, *bias, relu != 0)
}

func dwConv3x3s2Row(out, r0, r1, r2, w *float32, inW, outW int, bias *float32, relu int) {
	dwRowGeneric(unsafe.Slice(out, outW), [3][]float32{unsafe.Slice(r0, inW), unsafe.Slice(r1, inW), unsafe.Slice(r2, inW)}, unsafe.Slice(w, 9), inW, 2, *bias, relu != 0)
}

func reluVec(out, x *float32, n int) {
	o, xs := unsafe.Slice(out, n), unsafe.Slice(x, n)
	for i, v := range xs {
		if v < 0 {
			v = 0
		}
		o[i] = v
	}
}

func reluBackwardVec(out, dy, y *float32, n int) {
	o, d, ys := unsafe.Slice(out, n), unsafe.Slice(dy, n), unsafe.Slice(y, n)
	for i, v := range ys {
		if v > 0 {
			o[i] = d[i]
		} else {
			o[i] = 0
		}
	}
}

func addVec(out, a, b *float32, n int) {
	o, as, bs := unsafe.Slice(out, n), unsafe.Slice(a, n), unsafe.Slice(b, n)
	for i, v := range as {
		o[i] = v + bs[i]
	}
}

// dwConv3x3s2PlaneZ is the Go contract only (the border chains, which
// change the last bit, are the assembly's business).
func im2colS2K3Z(d0, d1, d2, src *float32, W, ow int) {
	d := [3][]float32{unsafe.Slice(d0, ow), unsafe.Slice(d1, ow), unsafe.Slice(d2, ow)}
	s := unsafe.Slice(src, W)
	for kx := range d {
		for x := range d[kx] {
			d[kx][x] = 0
			if i := 2*x + kx - 1; i >= 0 && i < W {
				d[kx][x] = s[i]
			}
		}
	}
}

func dwConv3x3s2PlaneZ(out, in, w *float32, H, W int, bias *float32, relu int, zero *float32, borders int) {
	oh, ow := (H-1)/2+1, (W-1)/2+1
	o, x, z := unsafe.Slice(out, oh*ow), unsafe.Slice(in, H*W), unsafe.Slice(zero, W)
	for y := 0; y < oh; y++ {
		r0, r2 := z, z
		if y > 0 {
			r0 = x[(2*y-1)*W : 2*y*W]
		}
		if 2*y+1 < H {
			r2 = x[(2*y+1)*W : (2*y+2)*W]
		}
		dwRowGeneric(o[y*ow:(y+1)*ow], [3][]float32{r0, x[2*y*W : (2*y+1)*W], r2}, unsafe.Slice(w, 9), W, 2, *bias, relu != 0)
	}
}

func dwConv3x3s1PlaneZ(out, in, w *float32, H, W int, bias *float32, relu int, zero *float32) {
	dwConv3x3s1Plane(out, in, w, H, W, bias, relu, zero)
}

func dwConv3x3s1Plane(out, in, w *float32, H, W int, bias *float32, relu int, zero *float32) {
	o, x, z := unsafe.Slice(out, H*W), unsafe.Slice(in, H*W), unsafe.Slice(zero, W)
	for y := 0; y < H; y++ {
		r0, r2 := z, z
		if y > 0 {
			r0 = x[(y-1)*W : y*W]
		}
		if y+1 < H {
			r2 = x[(y+1)*W : (y+2)*W]
		}
		dwRowGeneric(o[y*W:(y+1)*W], [3][]float32{r0, x[y*W : (y+1)*W], r2}, unsafe.Slice(w, 9), W, 1, *bias, relu != 0)
	}
}

func bnSumsVec(x *float32, n int, mean float64, sq int) float64 {
	var s float64
	for _, v := range unsafe.Slice(x, n) {
		if sq != 0 {
			d := float64(v) - mean
			s += d * d
		} else {
			s += float64(v)
		}
	}
	return s
}

func bnBackwardSumsVec(ds, xs *float32, n int, mean, invstd float32) (float64, float64) {
	var a, b float64
	d := unsafe.Slice(ds, n)
	for i, v := range unsafe.Slice(xs, n) {
		g := float64(d[i])
		a += g
		b += g * float64((v-mean)*invstd)
	}
	return a, b
}

func bnTrainOutVec(dst, src *float32, n int, mean, invstd, w, b float32, accumulate int) {
	d := unsafe.Slice(dst, n)
	for i, v := range unsafe.Slice(src, n) {
		if accumulate != 0 {
			d[i] += (v-mean)*invstd*w + b
		} else {
			d[i] = (v-mean)*invstd*w + b
		}
	}
}

func bnBackwardDxVec(dd, ds, xs *float32, n int, mean, invstd, k, mb, mw float32) {
	o, d := unsafe.Slice(dd, n), unsafe.Slice(ds, n)
	for i, v := range unsafe.Slice(xs, n) {
		xh := (v - mean) * invstd
		o[i] += k * (d[i] - mb - xh*mw)
	}
}

func dwGradW3x3s1Plane(acc, in, dout *float32, H, W int, zero *float32) {
	a, x, d := unsafe.Slice(acc, 9), unsafe.Slice(in, H*W), unsafe.Slice(dout, H*W)
	for y := 0; y < H; y++ {
		for ky := 0; ky < 3; ky++ {
			iy := y - 1 + ky
			if iy < 0 || iy >= H {
				continue
			}
			dwWeightRow((*[3]float32)(a[ky*3:]), d[y*W:(y+1)*W], x[iy*W:(iy+1)*W], 1)
		}
	}
}
