package jpeg

// Upsampling and colour conversion, following libjpeg-turbo 2.1's jdsample.c
// (method chosen per component in jinit_upsampler) and jdcolor.c, plus
// OpenCV's CMYK->BGR conversion.

type upKind int

const (
	upFull upKind = iota
	upH2V1Fancy
	upH2V1Box
	upH1V2Fancy
	upH2V2Fancy
	upH2V2Box
	upInt
)

type upPlan struct {
	kind       upKind
	hexp, vexp int
}

// upsamplePlans picks each component's upsampler and reports whether any
// needs context rows (which changes how many rows a cut-short file yields).
func (d *decoder) upsamplePlans() ([]upPlan, bool, error) {
	plans := make([]upPlan, len(d.comps))
	ctx := false
	for i := range d.comps {
		c := &d.comps[i]
		hIn, vIn, hOut, vOut := c.h, c.v, d.maxH, d.maxV
		p := &plans[i]
		switch {
		case hIn == hOut && vIn == vOut:
			p.kind = upFull
		case hIn*2 == hOut && vIn == vOut:
			if c.dw > 2 {
				p.kind = upH2V1Fancy
			} else {
				p.kind = upH2V1Box
			}
		case hIn == hOut && vIn*2 == vOut:
			p.kind = upH1V2Fancy
			ctx = true
		case hIn*2 == hOut && vIn*2 == vOut:
			if c.dw > 2 {
				p.kind = upH2V2Fancy
				ctx = true
			} else {
				p.kind = upH2V2Box
			}
		case hOut%hIn == 0 && vOut%vIn == 0:
			p.kind = upInt
			p.hexp, p.vexp = hOut/hIn, vOut/vIn
		default:
			return nil, false, UnsupportedError("fractional sampling factors")
		}
	}
	return plans, ctx, nil
}

// upsampleRow returns component c's samples for output row y, at least
// width long, using buf as scratch.
func upsampleRow(c *component, p upPlan, y, width int, buf []byte) []byte {
	stride := c.pbw * 8
	plane := c.plane
	switch p.kind {
	case upFull:
		return plane[y*stride : y*stride+width]
	case upH2V1Fancy:
		in := plane[y*stride : y*stride+c.dw]
		h2v1Fancy(in, buf)
		return buf
	case upH2V1Box:
		in := plane[y*stride:]
		for x := 0; x < width; x++ {
			buf[x] = in[x>>1]
		}
		return buf
	case upH1V2Fancy:
		cur, nb, bias := vNeighbours(c, y)
		in0 := plane[cur*stride : cur*stride+c.dw]
		in1 := plane[nb*stride : nb*stride+c.dw]
		for x := range in0 {
			buf[x] = byte((3*int(in0[x]) + int(in1[x]) + bias) >> 2)
		}
		return buf
	case upH2V2Fancy:
		cur, nb, _ := vNeighbours(c, y)
		in0 := plane[cur*stride : cur*stride+c.dw]
		in1 := plane[nb*stride : nb*stride+c.dw]
		h2v2Fancy(in0, in1, buf)
		return buf
	case upH2V2Box:
		in := plane[(y>>1)*stride:]
		for x := 0; x < width; x++ {
			buf[x] = in[x>>1]
		}
		return buf
	default: // upInt
		in := plane[(y/p.vexp)*stride:]
		for x := 0; x < width; x++ {
			buf[x] = in[x/p.hexp]
		}
		return buf
	}
}

// vNeighbours gives, for output row y of a component upsampled 2x
// vertically, its nearest input row, the next nearest (above for even y,
// below for odd y, clamped to the component's real rows) and libjpeg's
// rounding bias for the h1v2 filter.
func vNeighbours(c *component, y int) (cur, nb, bias int) {
	cur = y >> 1
	if y&1 == 0 {
		nb, bias = cur-1, 1
		if nb < 0 {
			nb = 0
		}
	} else {
		nb, bias = cur+1, 2
		if nb > c.dh-1 {
			nb = c.dh - 1
		}
	}
	if cur > c.dh-1 {
		cur = c.dh - 1
	}
	return cur, nb, bias
}

// h2v1Fancy doubles a row horizontally with the triangle filter
// (3/4 nearer + 1/4 further, biased +1 for left outputs and +2 for right
// outputs). len(in) > 2.
func h2v1Fancy(in, out []byte) {
	n := len(in)
	out = out[:2*n]
	v := int(in[0])
	out[0] = in[0]
	out[1] = byte((3*v + int(in[1]) + 2) >> 2)
	if m := n - 2; useAVX2 && m >= 16 {
		// Whole vectors, the last one overlapping the one before.
		h2v1FancyMid(&in[0], &out[2], m&^15)
		h2v1FancyMid(&in[m-16], &out[2*(m-16)+2], 16)
	} else {
		h2v1FancyMidGo(in, out[2:2*n-2])
	}
	v = int(in[n-1])
	out[2*n-2] = byte((3*v + int(in[n-2]) + 1) >> 2)
	out[2*n-1] = in[n-1]
}

// h2v1FancyMidGo is the interior of h2v1Fancy, the loop h2v1FancyMid
// (AVX2) runs: the output pairs of in[1:len(out)/2+1] (out starts at the
// pair of in[1]).
func h2v1FancyMidGo(in, out []byte) {
	in = in[:len(out)/2+2]
	for j := 0; j < len(out)/2; j++ {
		v := 3 * int(in[j+1])
		out[2*j] = byte((v + int(in[j]) + 1) >> 2)
		out[2*j+1] = byte((v + int(in[j+2]) + 2) >> 2)
	}
}

// h2v2Fancy produces one output row of the 2x2 triangle filter from the
// nearest input row in0 and the next nearest in1. len(in0) > 2.
func h2v2Fancy(in0, in1, out []byte) {
	n := len(in0)
	in1 = in1[:n]
	out = out[:2*n]
	this := 3*int(in0[0]) + int(in1[0])
	next := 3*int(in0[1]) + int(in1[1])
	out[0] = byte((this*4 + 8) >> 4)
	out[1] = byte((this*3 + next + 7) >> 4)
	if m := n - 2; useAVX2 && m >= 16 {
		// Whole vectors, the last one overlapping the one before.
		h2v2FancyMid(&in0[0], &in1[0], &out[2], m&^15)
		h2v2FancyMid(&in0[m-16], &in1[m-16], &out[2*(m-16)+2], 16)
	} else {
		h2v2FancyMidGo(in0, in1, out[2:2*n-2])
	}
	this = 3*int(in0[n-1]) + int(in1[n-1])
	last := 3*int(in0[n-2]) + int(in1[n-2])
	out[2*n-2] = byte((this*3 + last + 8) >> 4)
	out[2*n-1] = byte((this*4 + 7) >> 4)
}

// h2v2FancyMidGo is the interior of h2v2Fancy, the loop h2v2FancyMid
// (AVX2) runs: the output pairs of columns 1..len(out)/2 of in0, in1.
func h2v2FancyMidGo(in0, in1, out []byte) {
	k := len(out) / 2
	in0, in1 = in0[:k+2], in1[:k+2]
	last := 3*int(in0[0]) + int(in1[0])
	this := 3*int(in0[1]) + int(in1[1])
	for j := 0; j < k; j++ {
		next := 3*int(in0[j+2]) + int(in1[j+2])
		out[2*j] = byte((this*3 + last + 8) >> 4)
		out[2*j+1] = byte((this*3 + next + 7) >> 4)
		last, this = this, next
	}
}

// YCbCr->RGB tables of libjpeg's jdcolor.c (SCALEBITS 16, ONE_HALF rounding).
var crR, cbB, crG, cbG [256]int32

func init() {
	const one = 1 << 16
	fix := func(x float64) int64 { return int64(x*one + 0.5) }
	for i := 0; i < 256; i++ {
		x := int64(i - 128)
		crR[i] = int32((fix(1.40200)*x + one/2) >> 16)
		cbB[i] = int32((fix(1.77200)*x + one/2) >> 16)
		crG[i] = int32(-fix(0.71414) * x)
		cbG[i] = int32(-fix(0.34414)*x + one/2)
	}
}

// clampTab[v+256] is v clamped to 0..255 (libjpeg's sample_range_limit).
var clampTab [1024]byte

func init() {
	for i := range clampTab {
		clampTab[i] = clamp255(int32(i - 256))
	}
}

// yccRow converts one row of full-resolution Y, Cb, Cr to BGR with
// libjpeg's tables (yccRowAVX2 computes their formulas; its 16-byte
// stores run 4 bytes past its last pixel, so it stops 2 pixels short).
func yccRow(yy, cb, cr, out []byte) {
	n := len(yy)
	cb = cb[:n]
	cr = cr[:n]
	out = out[:3*n]
	x := 0
	if m := n - 2; useAVX2 && m >= 8 {
		// Groups of 8, the last one overlapping the one before.
		yccRowAVX2(&yy[0], &cb[0], &cr[0], &out[0], m&^7)
		yccRowAVX2(&yy[m-8], &cb[m-8], &cr[m-8], &out[3*(m-8)], 8)
		x = m
	}
	yccRowGo(yy[x:], cb[x:], cr[x:], out[3*x:])
}

func yccRowGo(yy, cb, cr, out []byte) {
	cb = cb[:len(yy)]
	cr = cr[:len(yy)]
	out = out[:3*len(yy)]
	for x := range yy {
		y := int32(yy[x]) + 256
		b, r := cb[x], cr[x]
		o := (*[3]byte)(out[3*x:])
		o[0] = clampTab[(y+cbB[b])&1023]
		o[1] = clampTab[(y+(cbG[b]+crG[r])>>16)&1023]
		o[2] = clampTab[(y+crR[r])&1023]
	}
}

// grayRow replicates each gray sample to B, G and R.
func grayRow(g, out []byte) {
	n := len(g)
	out = out[:3*n]
	if useAVX2 && n >= 16 {
		// Groups of 16, the last one overlapping the one before.
		grayRowAVX2(&g[0], &out[0], n&^15)
		grayRowAVX2(&g[n-16], &out[3*(n-16)], 16)
		return
	}
	grayRowGo(g, out)
}

func grayRowGo(g, out []byte) {
	out = out[:3*len(g)]
	for x, v := range g {
		out[3*x], out[3*x+1], out[3*x+2] = v, v, v
	}
}

func clamp255(v int32) byte {
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return byte(v)
}

// render upsamples and colour-converts the first rows output rows into img;
// the rows below repeat the last one (OpenCV keeps copying its row buffer
// when libjpeg stops delivering rows), or stay black if there is none.
func (d *decoder) render(img *Image, cs colorSpace, plans []upPlan, rows int) {
	w := d.width
	bufs := make([][]byte, len(d.comps))
	srcs := make([][]byte, len(d.comps))
	for i := range d.comps {
		bufs[i] = make([]byte, max(w, 2*d.comps[i].dw, d.comps[i].pbw*8*d.maxH)+16)
	}
	x0, x1, y0, y1 := d.renderSpan()
	for y := y0; y < min(rows, y1); y++ {
		for i := range d.comps {
			srcs[i] = upsampleRow(&d.comps[i], plans[i], y, w, bufs[i])[x0:x1]
		}
		convertRow(cs, srcs, img.Pix[(y*w+x0)*3:(y*w+x1)*3], x1-x0)
	}
	if rows > 0 {
		last := img.Pix[(rows-1)*w*3 : rows*w*3]
		for y := rows; y < d.height; y++ {
			copy(img.Pix[y*w*3:(y+1)*w*3], last)
		}
	}
}

func convertRow(cs colorSpace, srcs [][]byte, out []byte, w int) {
	switch cs {
	case csGray:
		grayRow(srcs[0][:w], out[:3*w])
	case csYCbCr:
		yccRow(srcs[0][:w], srcs[1][:w], srcs[2][:w], out[:3*w])
	case csRGB:
		r, g, b := srcs[0][:w], srcs[1][:w], srcs[2][:w]
		for x := range r {
			out[3*x], out[3*x+1], out[3*x+2] = b[x], g[x], r[x]
		}
	case csCMYK, csYCCK:
		s0, s1, s2, s3 := srcs[0][:w], srcs[1][:w], srcs[2][:w], srcs[3][:w]
		for x := range s0 {
			c, m, yv, k := int32(s0[x]), int32(s1[x]), int32(s2[x]), int32(s3[x])
			if cs == csYCCK {
				// libjpeg's ycck_cmyk_convert.
				y := c
				cb, cr := m, yv
				c = int32(clamp255(255 - (y + crR[cr])))
				m = int32(clamp255(255 - (y + (cbG[cb]+crG[cr])>>16)))
				yv = int32(clamp255(255 - (y + cbB[cb])))
			}
			// OpenCV's icvCvt_CMYK2BGR_8u_C4C3R.
			out[3*x+2] = byte(k - ((255-c)*k)>>8)
			out[3*x+1] = byte(k - ((255-m)*k)>>8)
			out[3*x] = byte(k - ((255-yv)*k)>>8)
		}
	}
}

// applyOrientation turns the decoded picture upright like OpenCV's
// ApplyExifOrientation (flip/transpose for tags 2-8).
func applyOrientation(img *Image, o int) *Image {
	if o < 2 || o > 8 {
		return img
	}
	w, h := img.Width, img.Height
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := &Image{Width: ow, Height: oh, Pix: make([]byte, len(img.Pix))}
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			si := (sy*w + sx) * 3
			di := (y*ow + x) * 3
			out.Pix[di], out.Pix[di+1], out.Pix[di+2] = img.Pix[si], img.Pix[si+1], img.Pix[si+2]
		}
	}
	return out
}
