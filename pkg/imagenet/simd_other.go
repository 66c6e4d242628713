//go:build !amd64 || purego

package imagenet

// useAVX2 is always false without the assembly kernels (non-amd64 or the
// purego build tag): no plan gets an AVX2 layout and the functions below,
// which stand in for the kernels so that the callers compile everywhere,
// are never called.
var useAVX2 = false

func hrowKernel(t int, o, row *byte, off *int, w *int32, n int) {
	panic("imagenet: AVX2 kernel called in a build without them")
}

func vrowKernel(o, in *byte, stride int, k *int32, t, n int) {
	panic("imagenet: AVX2 kernel called in a build without them")
}
