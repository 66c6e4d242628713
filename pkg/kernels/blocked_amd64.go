//go:build amd64 && !purego

package kernels

type pwKernelFunc func(kb int, w, x *float32, xcs int, y *float32, ycs int, bias *float32, flags, tiles int, pf *float32, pfn int)

type stemKernelFunc func(taps int, offs *int, w, x, y *float32, ycs int, bias *float32, flags, tiles int)

// pwKernels[nb-1][np] and stemKernels[nb-1][np] are the AVX-512 pointwise
// and stem kernels, pwKernelsY[np] and stemKernelsY[np] the AVX2 ones (one
// block; nil where none is generated).
var (
	pwKernels, stemKernels = func() (pw [3][13]pwKernelFunc, st [3][13]stemKernelFunc) {
		pw[0] = [13]pwKernelFunc{1: pwKernelZ1x1, 2: pwKernelZ1x2, 4: pwKernelZ1x4, 8: pwKernelZ1x8, 12: pwKernelZ1x12}
		pw[1] = [13]pwKernelFunc{1: pwKernelZ2x1, 2: pwKernelZ2x2, 4: pwKernelZ2x4, 8: pwKernelZ2x8, 12: pwKernelZ2x12}
		pw[2] = [13]pwKernelFunc{1: pwKernelZ3x1, 2: pwKernelZ3x2, 4: pwKernelZ3x4, 8: pwKernelZ3x8}
		st[0] = [13]stemKernelFunc{1: stemKernelZ1x1s2, 2: stemKernelZ1x2s2, 4: stemKernelZ1x4s2, 8: stemKernelZ1x8s2, 12: stemKernelZ1x12s2}
		st[1] = [13]stemKernelFunc{1: stemKernelZ2x1s2, 2: stemKernelZ2x2s2, 4: stemKernelZ2x4s2, 8: stemKernelZ2x8s2, 12: stemKernelZ2x12s2}
		st[2] = [13]stemKernelFunc{1: stemKernelZ3x1s2, 2: stemKernelZ3x2s2, 4: stemKernelZ3x4s2, 8: stemKernelZ3x8s2}
		return
	}()
	pwKernelsY   = [7]pwKernelFunc{1: pwKernelY1x1, 2: pwKernelY1x2, 4: pwKernelY1x4, 6: pwKernelY1x6}
	stemKernelsY = [7]stemKernelFunc{1: stemKernelY1x1s2, 2: stemKernelY1x2s2, 4: stemKernelY1x4s2, 6: stemKernelY1x6s2}
)

// asmKernel returns the assembly kernel for nb blocks at np pixels on this
// machine from z (AVX-512) or y (AVX2, one block), or nil: the Go twin
// runs for a BlockedConv packed for another path, or without AVX2.
func asmKernel[F any](z *[3][13]F, y *[7]F, nb, np int) (f F) {
	switch {
	case useAVX512:
		return z[nb-1][np]
	case useAVX2 && nb == 1 && np < len(y):
		return y[np]
	}
	return f
}

// pwTiles runs tiles pointwise tiles of np pixels side by side, and
// prefetches pfn cache lines of pf per 16 input channels (the assembly
// kernels), as long as pf lasts.
func pwTiles(nb, np, tiles, kb int, w, x []float32, xcs int, y []float32, ycs int, bias []float32, flags int, pf []float32, pfn int) {
	// the last element each side reads, so that a short slice panics
	// here rather than the kernel reading past it
	_ = w[kb*BlockC*nb*BlockC-1]
	_ = x[(kb-1)*xcs+tiles*np*BlockC-1]
	_ = y[(nb-1)*ycs+tiles*np*BlockC-1]
	_ = bias[nb*BlockC-1]
	if f := asmKernel(&pwKernels, &pwKernelsY, nb, np); f != nil {
		pfp := &w[0]
		if pfn = min(pfn, len(pf)/BlockC/(tiles*kb)); pfn > 0 {
			pfp = &pf[0]
		}
		f(kb, &w[0], &x[0], xcs, &y[0], ycs, &bias[0], flags, tiles, pfp, pfn)
		return
	}
	pwTilesGeneric(nb, np, tiles, kb, w, x, xcs, y, ycs, bias, flags)
}

// stemTiles runs tiles stem tiles of np pixels along a row.
func stemTiles(nb, np, tiles int, offs []int, w, x, y []float32, ycs int, bias []float32, flags int) {
	_ = w[len(offs)*nb*BlockC-1]
	_ = x[offs[len(offs)-1]/4+2*(tiles*np-1)]
	_ = y[(nb-1)*ycs+tiles*np*BlockC-1]
	_ = bias[nb*BlockC-1]
	if f := asmKernel(&stemKernels, &stemKernelsY, nb, np); f != nil {
		f(len(offs), &offs[0], &w[0], &x[0], &y[0], ycs, &bias[0], flags, tiles)
		return
	}
	stemTilesGeneric(nb, np, tiles, offs, w, x, y, ycs, bias, flags)
}

func dwRowsBlocked(s int, out, in, zeros, w, bias []float32, H, iw, ow, xr, flags, y0, y1 int) {
	if !useAVX2 {
		dwRowsGenericBlocked(s, out, in, zeros, w, bias, H, iw, ow, xr, flags, y0, y1)
		return
	}
	if y0 >= y1 {
		return
	}
	_ = out[y1*ow*BlockC-1]
	_ = in[H*iw*BlockC-1]
	_ = zeros[iw*BlockC-1]
	_ = w[9*BlockC-1]
	_ = bias[BlockC-1]
	if (y1-1)*s > H-1 {
		panic("kernels: depthwise rows past the plane")
	}
	f := dwRowsYs1
	switch {
	case useAVX512 && s == 1:
		f = dwRowsZs1
	case useAVX512:
		f = dwRowsZs2
	case s == 2:
		f = dwRowsYs2
	}
	f(&out[0], &in[0], &zeros[0], &w[0], &bias[0], H, iw, ow, xr, flags, y0, y1)
}

func poolBlock(out, plane []float32, hw int) {
	if !useAVX2 {
		poolBlockGeneric(out, plane, hw)
		return
	}
	_ = out[BlockC-1]
	_ = plane[hw*BlockC-1]
	if useAVX512 {
		poolBlockZ(&out[0], &plane[0], hw)
	} else {
		poolBlockY(&out[0], &plane[0], hw)
	}
}

func scaleBlock(plane, s []float32, hw int, relu bool) {
	if !useAVX2 {
		scaleBlockGeneric(plane, s, hw, relu)
		return
	}
	_ = plane[hw*BlockC-1]
	_ = s[BlockC-1]
	r := 0
	if relu {
		r = 1
	}
	if useAVX512 {
		scaleBlockZ(&plane[0], &s[0], hw, r)
	} else {
		scaleBlockY(&plane[0], &s[0], hw, r)
	}
}
