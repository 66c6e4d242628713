//go:build amd64 && !purego

package kernels

type pwKernelFunc func(kb int, w, x *float32, xcs int, y *float32, ycs int, bias *float32, flags int)

type stemKernelFunc func(taps int, offs *int, w, x, y *float32, ycs int, bias *float32, flags int)

// blockedKernels[nb-1][np] are the pointwise and stem kernels (nil where
// none is generated).
var pwKernels, stemKernels = func() (pw [3][13]pwKernelFunc, st [3][13]stemKernelFunc) {
	pw[0] = [13]pwKernelFunc{1: pwKernelZ1x1, 2: pwKernelZ1x2, 4: pwKernelZ1x4, 8: pwKernelZ1x8, 12: pwKernelZ1x12}
	pw[1] = [13]pwKernelFunc{1: pwKernelZ2x1, 2: pwKernelZ2x2, 4: pwKernelZ2x4, 8: pwKernelZ2x8, 12: pwKernelZ2x12}
	pw[2] = [13]pwKernelFunc{1: pwKernelZ3x1, 2: pwKernelZ3x2, 4: pwKernelZ3x4, 8: pwKernelZ3x8}
	st[0] = [13]stemKernelFunc{1: stemKernelZ1x1s2, 2: stemKernelZ1x2s2, 4: stemKernelZ1x4s2, 8: stemKernelZ1x8s2, 12: stemKernelZ1x12s2}
	st[1] = [13]stemKernelFunc{1: stemKernelZ2x1s2, 2: stemKernelZ2x2s2, 4: stemKernelZ2x4s2, 8: stemKernelZ2x8s2, 12: stemKernelZ2x12s2}
	st[2] = [13]stemKernelFunc{1: stemKernelZ3x1s2, 2: stemKernelZ3x2s2, 4: stemKernelZ3x4s2, 8: stemKernelZ3x8s2}
	return
}()

func pwTile(nb, np, kb int, w, x []float32, xcs int, y []float32, ycs int, bias []float32, flags int) {
	// the last element each side reads, so that a short slice panics
	// here rather than the kernel reading past it
	_ = w[kb*BlockC*nb*BlockC-1]
	_ = x[(kb-1)*xcs+np*BlockC-1]
	_ = y[(nb-1)*ycs+np*BlockC-1]
	_ = bias[nb*BlockC-1]
	if useAVX512 {
		pwKernels[nb-1][np](kb, &w[0], &x[0], xcs, &y[0], ycs, &bias[0], flags)
		return
	}
	pwTileGeneric(nb, np, kb, w, x, xcs, y, ycs, bias, flags)
}

func stemTile(nb, np int, offs []int, w, x, y []float32, ycs int, bias []float32, flags int) {
	_ = w[len(offs)*nb*BlockC-1]
	_ = x[offs[len(offs)-1]/4+2*(np-1)]
	_ = y[(nb-1)*ycs+np*BlockC-1]
	_ = bias[nb*BlockC-1]
	if useAVX512 {
		stemKernels[nb-1][np](len(offs), &offs[0], &w[0], &x[0], &y[0], ycs, &bias[0], flags)
		return
	}
	stemTileGeneric(nb, np, offs, w, x, y, ycs, bias, flags)
}

func dwRow(s int, out []float32, rows [3][]float32, w, bias []float32, iw, ow, xr, flags int) {
	if !useAVX512 {
		dwRowGenericBlocked(s, out, rows, w, bias, iw, ow, xr, flags)
		return
	}
	_ = out[ow*BlockC-1]
	_ = w[9*BlockC-1]
	_ = bias[BlockC-1]
	for _, r := range rows {
		_ = r[iw*BlockC-1]
	}
	if s == 1 {
		dwRowZs1(&out[0], &rows[0][0], &rows[1][0], &rows[2][0], &w[0], &bias[0], ow, xr, flags)
	} else {
		dwRowZs2(&out[0], &rows[0][0], &rows[1][0], &rows[2][0], &w[0], &bias[0], ow, xr, flags)
	}
}
