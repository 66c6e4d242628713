//go:build !amd64 || purego

package kernels

import "unsafe"

// useAVX2 is always false without the assembly kernels (non-amd64 or the
// purego build tag): every kernel takes its portable plain-Go path.
var useAVX2 = false

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

func dwConv3x3s1Row(out, r0, r1, r2, w *float32, width int, bias *float32, relu int) {
	dwRowGeneric(unsafe.Slice(out, width), [3][]float32{unsafe.Slice(r0, width), unsafe.Slice(r1, width), unsafe.Slice(r2, width)}, unsafe.Slice(w, 9), width, 1, *bias, relu != 0)
}

func dwConv3x3s2Row(out, r0, r1, r2, w *float32, inW, outW int, bias *float32, relu int) {
	dwRowGeneric(unsafe.Slice(out, outW), [3][]float32{unsafe.Slice(r0, inW), unsafe.Slice(r1, inW), unsafe.Slice(r2, inW)}, unsafe.Slice(w, 9), inW, 2, *bias, relu != 0)
}
