package kernels

// The plain-Go twins of the blocked kernels (the contracts in _gen's
// nchwc.go), run where there is no AVX-512 and by the tests.

// pwTilesGeneric is pwKernelZ{nb}x{np}: nb output blocks at tiles·np
// pixels of a pointwise conv over kb input blocks.
func pwTilesGeneric(nb, np, tiles, kb int, w, x []float32, xcs int, y []float32, ycs int, bias []float32, flags int) {
	for b := 0; b < nb; b++ {
		for p := 0; p < tiles*np; p++ {
			for l := 0; l < BlockC; l++ {
				var d float32
				for c := 0; c < kb*BlockC; c++ {
					d += w[(c*nb+b)*BlockC+l] * x[(c/BlockC)*xcs+p*BlockC+c%BlockC]
				}
				blockedStore(y, b*ycs+p*BlockC+l, bias[b*BlockC+l]+d, flags)
			}
		}
	}
}

// blockedStore finishes one output of the pointwise and stem kernels: s
// (bias + sum), + y when flags&1, ReLU when flags&2.
func blockedStore(y []float32, i int, s float32, flags int) {
	if flags&kernAccumulate != 0 {
		s += y[i]
	}
	if flags&kernReLU != 0 && s < 0 {
		s = 0
	}
	y[i] = s
}

// stemTilesGeneric is stemKernelZ{nb}x{np}s2 over tiles·np pixels.
func stemTilesGeneric(nb, np, tiles int, offs []int, w, x, y []float32, ycs int, bias []float32, flags int) {
	for b := 0; b < nb; b++ {
		for p := 0; p < tiles*np; p++ {
			for l := 0; l < BlockC; l++ {
				var d float32
				for t, o := range offs {
					d += w[(t*nb+b)*BlockC+l] * x[o/4+2*p]
				}
				blockedStore(y, b*ycs+p*BlockC+l, bias[b*BlockC+l]+d, flags)
			}
		}
	}
}

// dwRowsGenericBlocked is dwRowsZs{s}: output rows [y0, y1) of one
// channel block's H×iw plane.
func dwRowsGenericBlocked(s int, out, in, zeros, w, bias []float32, H, iw, ow, xr, flags, y0, y1 int) {
	for y := y0; y < y1; y++ {
		var rows [3][]float32
		for ky := range rows {
			if r := y*s + ky - 1; r < 0 || r >= H {
				rows[ky] = zeros
			} else {
				rows[ky] = in[r*iw*BlockC : (r+1)*iw*BlockC]
			}
		}
		dwRowGenericBlocked(s, out[y*ow*BlockC:(y+1)*ow*BlockC], rows, w, bias, iw, ow, xr, flags)
	}
}

// dwRowGenericBlocked is one row of dwRowsGenericBlocked: one output row of a 3×3 depthwise
// conv on one channel block (flags: 1 ReLU, 2 first output one chain, 4
// last output one chain when xr < ow, 8 the AVX2 row kernel's chains).
func dwRowGenericBlocked(s int, out []float32, rows [3][]float32, w, bias []float32, iw, ow, xr, flags int) {
	for x := 0; x < ow; x++ {
		single := x == 0 && flags&2 != 0 || x == ow-1 && xr < ow && flags&4 != 0
		for l := 0; l < BlockC; l++ {
			a, c := bias[l], float32(0)
			for ky := 0; ky < 3; ky++ {
				for kx := 0; kx < 3; kx++ {
					ix := x*s + kx - 1
					if ix < 0 || ix >= iw {
						continue
					}
					v := w[(ky*3+kx)*BlockC+l] * rows[ky][ix*BlockC+l]
					inB := kx == 1
					if flags&8 != 0 {
						i := ky*3 + kx
						inB = i == 1 || i > 1 && i%2 == 0
					}
					if inB && !single {
						c += v
					} else {
						a += v
					}
				}
			}
			if !single {
				a += c
			}
			if flags&1 != 0 && a < 0 {
				a = 0
			}
			out[x*BlockC+l] = a
		}
	}
}

// GlobalAvgPoolBlocked is GlobalAvgPool on one blocked image: out[c] is
// the mean of channel c over its hw pixels, summed in float64 in pixel
// order (the sums of GlobalAvgPool bit for bit).
func GlobalAvgPoolBlocked(out, x []float32, channels, hw int) {
	if len(out) < channels || len(x) < channels*hw || channels%BlockC != 0 || hw < 1 {
		panic("kernels: blocked pooling slices too short or channels not blocked")
	}
	for b := 0; b < channels/BlockC; b++ {
		poolBlock(out[b*BlockC:(b+1)*BlockC], x[b*hw*BlockC:(b+1)*hw*BlockC], hw)
	}
}

// poolBlockGeneric is poolBlockZ: the means of one block's 16 channels.
func poolBlockGeneric(out, plane []float32, hw int) {
	var s [BlockC]float64
	for p := 0; p < hw; p++ {
		v := plane[p*BlockC : (p+1)*BlockC]
		for l := range s {
			s[l] += float64(v[l])
		}
	}
	for l := range s {
		out[l] = float32(s[l] / float64(hw))
	}
}

// ScaleChannelsBlocked is ScaleChannels on one blocked image, in place:
// channel c of every pixel times scale[c], then clamped at 0 when relu is
// set (the SE layer and the ReLU after it).
func ScaleChannelsBlocked(x, scale []float32, channels, hw int, relu bool) {
	if len(scale) < channels || len(x) < channels*hw || channels%BlockC != 0 || hw < 1 {
		panic("kernels: blocked scaling slices too short or channels not blocked")
	}
	for b := 0; b < channels/BlockC; b++ {
		scaleBlock(x[b*hw*BlockC:(b+1)*hw*BlockC], scale[b*BlockC:(b+1)*BlockC], hw, relu)
	}
}

// scaleBlockGeneric is scaleBlockZ.
func scaleBlockGeneric(plane, s []float32, hw int, relu bool) {
	for p := 0; p < hw; p++ {
		v := plane[p*BlockC : (p+1)*BlockC]
		for l := range v {
			f := v[l] * s[l]
			if relu && f < 0 {
				f = 0
			}
			v[l] = f
		}
	}
}

// ToBlocked writes the NCHW image src (channels × hw) into dst blocked.
func ToBlocked(dst, src []float32, channels, hw int) {
	for c := 0; c < channels; c++ {
		d := dst[(c/BlockC)*hw*BlockC+c%BlockC:]
		for p, v := range src[c*hw : (c+1)*hw] {
			d[p*BlockC] = v
		}
	}
}

// FromBlocked writes the blocked image src (channels × hw) into dst NCHW.
func FromBlocked(dst, src []float32, channels, hw int) {
	for c := 0; c < channels; c++ {
		s := src[(c/BlockC)*hw*BlockC+c%BlockC:]
		d := dst[c*hw : (c+1)*hw]
		for p := range d {
			d[p] = s[p*BlockC]
		}
	}
}
