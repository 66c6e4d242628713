//go:build amd64 && !purego

package imagenet

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; it is decided once, at start-up,
// from CPUID (cpu.X86.HasAVX2 includes the OS's saving of the YMM state).
var useAVX2 = cpu.X86.HasAVX2

// hrowKernel runs hrow<t>AVX2, or hrowNAVX2 for the padded layouts of
// longer plans (t a multiple of 5).
func hrowKernel(t int, o, row *byte, off *int, w *int32, n int) {
	switch t {
	case 2:
		hrow2AVX2(o, row, off, w, n)
	case 3:
		hrow3AVX2(o, row, off, w, n)
	case 4:
		hrow4AVX2(o, row, off, w, n)
	case 5:
		hrow5AVX2(o, row, off, w, n)
	case 6:
		hrow6AVX2(o, row, off, w, n)
	case 7:
		hrow7AVX2(o, row, off, w, n)
	case 8:
		hrow8AVX2(o, row, off, w, n)
	default:
		hrowNAVX2(o, row, off, w, t/5, n)
	}
}

// vrowKernel runs vrow<t>AVX2, or vrowNAVX2 for longer kernels.
func vrowKernel(o, in *byte, stride int, k *int32, t, n int) {
	switch t {
	case 1:
		vrow1AVX2(o, in, stride, k, n)
	case 2:
		vrow2AVX2(o, in, stride, k, n)
	case 3:
		vrow3AVX2(o, in, stride, k, n)
	case 4:
		vrow4AVX2(o, in, stride, k, n)
	default:
		vrowNAVX2(o, in, stride, k, t, n)
	}
}
