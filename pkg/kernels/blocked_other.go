//go:build !amd64 || purego

package kernels

func pwTile(nb, np, kb int, w, x []float32, xcs int, y []float32, ycs int, bias []float32, flags int) {
	pwTileGeneric(nb, np, kb, w, x, xcs, y, ycs, bias, flags)
}

func stemTile(nb, np int, offs []int, w, x, y []float32, ycs int, bias []float32, flags int) {
	stemTileGeneric(nb, np, offs, w, x, y, ycs, bias, flags)
}

func dwRow(s int, out []float32, rows [3][]float32, w, bias []float32, iw, ow, xr, flags int) {
	dwRowGenericBlocked(s, out, rows, w, bias, iw, ow, xr, flags)
}
