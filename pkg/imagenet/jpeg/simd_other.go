//go:build !amd64 || purego

package jpeg

// useAVX2 is always false without the assembly kernels (non-amd64 or the
// purego build tag): the callers check it first, and the functions below,
// which stand in for the kernels so that the callers compile everywhere,
// are never called.
var useAVX2 = false

func idctAVX2(blk *[64]int16, q *[64]int32, out *byte, stride int) bool { panic(noKernels) }

func yccRowAVX2(y, cb, cr, out *byte, n int) { panic(noKernels) }

func grayRowAVX2(in, out *byte, n int) { panic(noKernels) }

func h2v1FancyMid(in, out *byte, n int) { panic(noKernels) }

func h2v2FancyMid(in0, in1, out *byte, n int) { panic(noKernels) }

const noKernels = "jpeg: AVX2 kernel called in a build without them"
