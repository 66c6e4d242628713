//go:build !amd64 || purego

package kernels

func pwTiles(nb, np, tiles, kb int, w, x []float32, xcs int, y []float32, ycs int, bias []float32, flags int, _ []float32, _ int) {
	pwTilesGeneric(nb, np, tiles, kb, w, x, xcs, y, ycs, bias, flags)
}

func stemTiles(nb, np, tiles int, offs []int, w, x, y []float32, ycs int, bias []float32, flags int) {
	stemTilesGeneric(nb, np, tiles, offs, w, x, y, ycs, bias, flags)
}

func dwRowsBlocked(s int, out, in, zeros, w, bias []float32, H, iw, ow, xr, flags, y0, y1 int) {
	dwRowsGenericBlocked(s, out, in, zeros, w, bias, H, iw, ow, xr, flags, y0, y1)
}

func poolBlock(out, plane []float32, hw int) { poolBlockGeneric(out, plane, hw) }

func scaleBlock(plane, s []float32, hw int, relu bool) { scaleBlockGeneric(plane, s, hw, relu) }
