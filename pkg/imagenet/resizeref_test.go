package imagenet

// pillowResizeRef is the straightforward transcription of Pillow's
// ImagingResample for 8-bit 3-channel images (the Resizer as first
// written, before the window, padding and unrolling optimizations): the
// reference the optimized Resizer must match byte for byte.
func pillowResizeRef(f *Filter, src *Image, dw, dh int) *Image {
	sw, sh := src.Width, src.Height
	needH, needV := dw != sw, dh != sh
	h := newAxisPlan(f, sw, dw)
	v := newAxisPlan(f, sh, dh)
	yFirst := v.bounds[0]
	yLast := v.bounds[2*dh-2] + v.bounds[2*dh-1]
	dst := NewImage(dw, dh)
	horizontal := func(out, in []byte, y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := in[y*3*sw : (y+1)*3*sw]
			o := out[(y-y0)*3*dw : (y-y0+1)*3*dw]
			for xx := 0; xx < dw; xx++ {
				xmin, n := h.bounds[2*xx], h.bounds[2*xx+1]
				var s [3]int32
				for c := range s {
					s[c] = 1 << (precisionBits - 1)
					for x := 0; x < n; x++ {
						s[c] += int32(row[3*(xmin+x)+c]) * h.kk[xx*h.ksize+x]
					}
					o[3*xx+c] = clip8(s[c])
				}
			}
		}
	}
	vertical := func(out, in []byte, shift int) {
		for yy := 0; yy < dh; yy++ {
			ymin, n := v.bounds[2*yy]-shift, v.bounds[2*yy+1]
			for i := 0; i < 3*dw; i++ {
				s := int32(1 << (precisionBits - 1))
				for y := 0; y < n; y++ {
					s += int32(in[(ymin+y)*3*dw+i]) * v.kk[yy*v.ksize+y]
				}
				out[yy*3*dw+i] = clip8(s)
			}
		}
	}
	switch {
	case !needH && !needV:
		copy(dst.Pix, src.Pix)
	case !needV:
		horizontal(dst.Pix, src.Pix, 0, sh)
	case !needH:
		vertical(dst.Pix, src.Pix, 0)
	default:
		tmp := make([]byte, 3*dw*(yLast-yFirst))
		horizontal(tmp, src.Pix, yFirst, yLast)
		vertical(dst.Pix, tmp, yFirst)
	}
	return dst
}
