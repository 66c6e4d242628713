//go:build !amd64 || purego

package jpeg

import "unsafe"

// useAVX2 is always false without the assembly kernels (non-amd64 or the
// purego build tag), so the functions below, which stand in for them so
// that the callers compile everywhere, are never called.
var useAVX2 = false

// idctAVX2 declines every block: the caller then runs the Go idct.
func idctAVX2(blk *[64]int16, q *[64]int32, out *byte, stride int) bool { return false }

func yccRowAVX2(y, cb, cr, out *byte, n int) {
	yccRowGo(unsafe.Slice(y, n), unsafe.Slice(cb, n), unsafe.Slice(cr, n), unsafe.Slice(out, 3*n))
}

func grayRowAVX2(in, out *byte, n int) {
	grayRowGo(unsafe.Slice(in, n), unsafe.Slice(out, 3*n))
}

func h2v1FancyMid(in, out *byte, n int) {
	h2v1FancyMidGo(unsafe.Slice(in, n+2), unsafe.Slice(out, 2*n))
}

func h2v2FancyMid(in0, in1, out *byte, n int) {
	h2v2FancyMidGo(unsafe.Slice(in0, n+2), unsafe.Slice(in1, n+2), unsafe.Slice(out, 2*n))
}
