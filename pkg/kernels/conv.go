package kernels

// ConvParams describes a 2-D convolution over an NCHW batch, as
// torch.nn.Conv2d does (dilation 1): the input is N×InC×InH×InW, the weight
// OutC×(InC/Groups)×KH×KW, the output N×OutC×OutH()×OutW().
type ConvParams struct {
	N, InC, InH, InW int
	OutC, KH, KW     int
	StrideH, StrideW int
	PadH, PadW       int
	Groups           int
}

// OutH is the output height: (InH + 2·PadH − KH)/StrideH + 1.
func (p ConvParams) OutH() int { return (p.InH+2*p.PadH-p.KH)/p.StrideH + 1 }

// OutW is the output width: (InW + 2·PadW − KW)/StrideW + 1.
func (p ConvParams) OutW() int { return (p.InW+2*p.PadW-p.KW)/p.StrideW + 1 }

// InSize, OutSize and WeightSize are the element counts of the three tensors.
func (p ConvParams) InSize() int     { return p.N * p.InC * p.InH * p.InW }
func (p ConvParams) OutSize() int    { return p.N * p.OutC * p.OutH() * p.OutW() }
func (p ConvParams) WeightSize() int { return p.OutC * (p.InC / p.Groups) * p.KH * p.KW }

// FLOPs is the multiply-accumulate count of one forward pass.
func (p ConvParams) MACs() int {
	return p.N * p.OutC * p.OutH() * p.OutW() * (p.InC / p.Groups) * p.KH * p.KW
}

func (p ConvParams) check(out, in, w []float32) {
	p.checkGeometry()
	if len(in) < p.InSize() {
		panic("kernels: conv input too short")
	}
	if len(out) < p.OutSize() {
		panic("kernels: conv output too short")
	}
	if len(w) < p.WeightSize() {
		panic("kernels: conv weight too short")
	}
}

func (p ConvParams) checkGeometry() {
	if p.Groups < 1 || p.InC%p.Groups != 0 || p.OutC%p.Groups != 0 {
		panic("kernels: bad conv groups")
	}
	if p.StrideH < 1 || p.StrideW < 1 || p.KH < 1 || p.KW < 1 || p.PadH < 0 || p.PadW < 0 {
		panic("kernels: bad conv geometry")
	}
	if p.OutH() < 1 || p.OutW() < 1 {
		panic("kernels: conv output is empty")
	}
}

func (p ConvParams) depthwise() bool { return p.Groups == p.InC && p.OutC == p.InC && p.Groups > 1 }

func (p ConvParams) pointwise() bool {
	return p.Groups == 1 && p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadH == 0 && p.PadW == 0
}

// Activation is an elementwise function fused into a kernel's final store.
type Activation int

const (
	// ActNone leaves values as they are.
	ActNone Activation = iota
	// ActReLU is max(0, x), as torch.nn.ReLU.
	ActReLU
)

// Conv2DRef is the reference convolution: a direct loop over every output
// element, accumulating in float64, then bias and activation.
//
//	out[n][o][y][x] = act(bias[o] + Σ_{c,ky,kx} in[n][g·icg+c][y·sh−ph+ky][x·sw−pw+kx] · w[o][c][ky][kx])
func Conv2DRef(out, in, w, bias []float32, p ConvParams, act Activation) {
	p.check(out, in, w)
	oh, ow := p.OutH(), p.OutW()
	icg, ocg := p.InC/p.Groups, p.OutC/p.Groups
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.OutC; o++ {
			g := o / ocg
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					var s float64
					if bias != nil {
						s = float64(bias[o])
					}
					for c := 0; c < icg; c++ {
						ic := g*icg + c
						for ky := 0; ky < p.KH; ky++ {
							iy := y*p.StrideH - p.PadH + ky
							if iy < 0 || iy >= p.InH {
								continue
							}
							for kx := 0; kx < p.KW; kx++ {
								ix := x*p.StrideW - p.PadW + kx
								if ix < 0 || ix >= p.InW {
									continue
								}
								s += float64(in[((n*p.InC+ic)*p.InH+iy)*p.InW+ix]) * float64(w[((o*icg+c)*p.KH+ky)*p.KW+kx])
							}
						}
					}
					v := float32(s)
					if act == ActReLU && v < 0 {
						v = 0
					}
					out[((n*p.OutC+o)*oh+y)*ow+x] = v
				}
			}
		}
	}
}

// Conv2D computes the convolution of Conv2DRef with the production kernels:
// pointwise convs are one GEMM, other dense and grouped convs im2col plus
// GEMM, depthwise convs a row-oriented direct kernel. Images of a batch run
// on separate goroutines; a single image spreads the GEMM or the channels.
//
// With AVX2+FMA (see FastPath) the GEMMs run the assembly micro-kernel with
// the bias and ReLU fused into its store, and 3×3 depthwise convs with
// padding 1 and stride 1 or 2 run the assembly row kernels, also with bias
// and ReLU fused. PackedConv additionally pre-packs the weights.
func Conv2D(out, in, w, bias []float32, p ConvParams, act Activation) {
	p.check(out, in, w)
	if bias != nil && len(bias) < p.OutC {
		panic("kernels: conv bias too short")
	}
	if convFastOK(p) {
		conv2DFast(out, in, w, bias, nil, p, act)
		return
	}
	inSz, outSz := p.InC*p.InH*p.InW, p.OutC*p.OutH()*p.OutW()
	if p.N > 1 && Threads() > 1 {
		parallelFor(p.N, 1, func(lo, hi int) {
			for n := lo; n < hi; n++ {
				conv2dImage(out[n*outSz:(n+1)*outSz], in[n*inSz:(n+1)*inSz], w, bias, p, act, true)
			}
		})
		return
	}
	for n := 0; n < p.N; n++ {
		conv2dImage(out[n*outSz:(n+1)*outSz], in[n*inSz:(n+1)*inSz], w, bias, p, act, false)
	}
}

// conv2dImage convolves one image. serial keeps it on the calling goroutine.
func conv2dImage(out, in, w, bias []float32, p ConvParams, act Activation, serial bool) {
	oh, ow := p.OutH(), p.OutW()
	ohw := oh * ow
	gemm := Gemm
	if serial {
		gemm = gemmSerial
	}
	switch {
	case p.depthwise():
		if serial || p.InC < 2*Threads() {
			depthwiseForward(out, in, w, p, 0, p.InC)
		} else {
			parallelFor(p.InC, 8, func(lo, hi int) { depthwiseForward(out, in, w, p, lo, hi) })
		}
	case p.pointwise():
		gemm(out, w, in, GemmParams{M: p.OutC, N: ohw, K: p.InC})
	default:
		icg, ocg := p.InC/p.Groups, p.OutC/p.Groups
		k := icg * p.KH * p.KW
		col := buffers.Get(k * ohw)
		for g := 0; g < p.Groups; g++ {
			im2col(*col, in[g*icg*p.InH*p.InW:], icg, p)
			gemm(out[g*ocg*ohw:], w[g*ocg*k:], *col, GemmParams{M: ocg, N: ohw, K: k})
		}
		buffers.Put(col)
	}
	biasAct(out, bias, p.OutC, ohw, act)
}

// biasAct adds a per-channel bias (if any) and applies act in place.
func biasAct(out, bias []float32, channels, hw int, act Activation) {
	for c := 0; c < channels; c++ {
		row := out[c*hw : (c+1)*hw]
		var b float32
		if bias != nil {
			b = bias[c]
		}
		switch {
		case act == ActReLU:
			for i, v := range row {
				v += b
				if v < 0 {
					v = 0
				}
				row[i] = v
			}
		case bias != nil:
			for i := range row {
				row[i] += b
			}
		}
	}
}

// im2col lays out the receptive fields of `channels` input planes (starting
// at in) as a (channels·KH·KW)×(OutH·OutW) matrix, zero where the window
// reaches into the padding. Each output row splits into a zero head, a
// copied (or strided) middle and a zero tail, so the inner loops carry no
// bounds tests.
func im2col(col, in []float32, channels int, p ConvParams) {
	im2colRows(col, in, channels, p, 0, p.OutH())
}

// im2colRows is im2col for output rows [y0, y1) only: col is
// (channels·KH·KW) × ((y1−y0)·OutW), row-major.
func im2colRows(col, in []float32, channels int, p ConvParams, y0, y1 int) {
	ow := p.OutW()
	n := (y1 - y0) * ow
	sw := p.StrideW
	if useAVX512 && p.KW == 3 && sw == 2 && p.PadW == 1 {
		im2colRowsS2K3(col, in, channels, p, y0, y1)
		return
	}
	for c := 0; c < channels; c++ {
		plane := in[c*p.InH*p.InW : (c+1)*p.InH*p.InW]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				row := col[((c*p.KH+ky)*p.KW+kx)*n:][:n]
				x0, x1 := validRange(kx, sw, p.PadW, p.InW, ow)
				off := kx - p.PadW
				for y := y0; y < y1; y++ {
					iy := y*p.StrideH - p.PadH + ky
					dst := row[(y-y0)*ow : (y-y0+1)*ow]
					if iy < 0 || iy >= p.InH {
						clear(dst)
						continue
					}
					src := plane[iy*p.InW : (iy+1)*p.InW]
					clear(dst[:x0])
					clear(dst[x1:])
					d := dst[x0:x1]
					if sw == 1 {
						copy(d, src[x0+off:x1+off])
						continue
					}
					if len(d) == 0 {
						continue
					}
					s := src[x0*sw+off : (x1-1)*sw+off+1]
					q := 0
					if sw == 2 && useAVX2 && len(d) > 8 {
						// whole groups of 8 whose reads stay inside s
						q = (len(d) - 1) / 8 * 8
						gatherEven(&d[0], &s[0], q)
					}
					for i := q; i < len(d); i++ {
						d[i] = s[i*sw]
					}
				}
			}
		}
	}
}

// im2colRowsS2K3 is im2colRows for 3-wide kernels with stride 2 and padding
// 1 (the stem) on AVX-512: the three rows of one input row at once.
func im2colRowsS2K3(col, in []float32, channels int, p ConvParams, y0, y1 int) {
	ow := p.OutW()
	n := (y1 - y0) * ow
	for c := 0; c < channels; c++ {
		plane := in[c*p.InH*p.InW : (c+1)*p.InH*p.InW]
		for ky := 0; ky < p.KH; ky++ {
			base := (c*p.KH + ky) * 3 * n
			for y := y0; y < y1; y++ {
				o := base + (y-y0)*ow
				d0, d1, d2 := col[o:o+ow], col[o+n:o+n+ow], col[o+2*n:o+2*n+ow]
				iy := y*p.StrideH - p.PadH + ky
				if iy < 0 || iy >= p.InH {
					clear(d0)
					clear(d1)
					clear(d2)
					continue
				}
				src := plane[iy*p.InW : (iy+1)*p.InW]
				im2colS2K3Z(&d0[0], &d1[0], &d2[0], &src[0], p.InW, ow)
			}
		}
	}
}

// col2imAdd is the adjoint of im2col: it adds every column entry back into
// the input position it was read from.
func col2imAdd(in, col []float32, channels int, p ConvParams) {
	oh, ow := p.OutH(), p.OutW()
	ohw := oh * ow
	for c := 0; c < channels; c++ {
		plane := in[c*p.InH*p.InW : (c+1)*p.InH*p.InW]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				row := col[((c*p.KH+ky)*p.KW+kx)*ohw:][:ohw]
				for y := 0; y < oh; y++ {
					iy := y*p.StrideH - p.PadH + ky
					if iy < 0 || iy >= p.InH {
						continue
					}
					dst := plane[iy*p.InW : (iy+1)*p.InW]
					src := row[y*ow : (y+1)*ow]
					for x, v := range src {
						ix := x*p.StrideW - p.PadW + kx
						if ix >= 0 && ix < p.InW {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}

// validRange returns the output columns [x0,x1) whose input column
// x·stride − pad + k lies inside [0, inW).
func validRange(k, stride, pad, inW, outW int) (int, int) {
	// smallest x with x·s − p + k ≥ 0
	x0 := 0
	if d := pad - k; d > 0 {
		x0 = (d + stride - 1) / stride
	}
	// largest x with x·s − p + k ≤ inW − 1
	x1 := outW
	if lim := inW - 1 + pad - k; lim < 0 {
		x1 = 0
	} else if v := lim/stride + 1; v < x1 {
		x1 = v
	}
	if x0 > x1 {
		x0 = x1
	}
	return x0, x1
}

// depthwiseForward convolves channels [c0,c1) of a depthwise conv, one
// output row at a time: for every tap, a unit- or strided-step axpy over the
// columns whose input is inside the image.
func depthwiseForward(out, in, w []float32, p ConvParams, c0, c1 int) {
	oh, ow := p.OutH(), p.OutW()
	kk := p.KH * p.KW
	for c := c0; c < c1; c++ {
		plane := in[c*p.InH*p.InW : (c+1)*p.InH*p.InW]
		wc := w[c*kk : (c+1)*kk]
		for y := 0; y < oh; y++ {
			dst := out[(c*oh+y)*ow : (c*oh+y+1)*ow]
			clear(dst)
			for ky := 0; ky < p.KH; ky++ {
				iy := y*p.StrideH - p.PadH + ky
				if iy < 0 || iy >= p.InH {
					continue
				}
				src := plane[iy*p.InW : (iy+1)*p.InW]
				for kx := 0; kx < p.KW; kx++ {
					wv := wc[ky*p.KW+kx]
					x0, x1 := validRange(kx, p.StrideW, p.PadW, p.InW, ow)
					off := kx - p.PadW
					if p.StrideW == 1 {
						s := src[x0+off : x1+off]
						d := dst[x0:x1]
						d = d[:len(s)]
						for i, v := range s {
							d[i] += wv * v
						}
					} else {
						for x := x0; x < x1; x++ {
							dst[x] += wv * src[x*p.StrideW+off]
						}
					}
				}
			}
		}
	}
}
