package kernels

// Conv2DBackwardDataRef is the reference input gradient of Conv2DRef (no
// bias, no activation): dIn = Σ over every output position of dOut times the
// weight tap that read that input. dIn is overwritten.
func Conv2DBackwardDataRef(dIn, dOut, w []float32, p ConvParams) {
	p.check(dOut, dIn, w)
	acc := make([]float64, p.InSize())
	oh, ow := p.OutH(), p.OutW()
	icg, ocg := p.InC/p.Groups, p.OutC/p.Groups
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.OutC; o++ {
			g := o / ocg
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					d := float64(dOut[((n*p.OutC+o)*oh+y)*ow+x])
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
								acc[((n*p.InC+ic)*p.InH+iy)*p.InW+ix] += d * float64(w[((o*icg+c)*p.KH+ky)*p.KW+kx])
							}
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		dIn[i] = float32(v)
	}
}

// Conv2DBackwardWeightRef is the reference weight gradient of Conv2DRef,
// summed over the batch: dW[o][c][ky][kx] = Σ dOut·in. dW is overwritten.
func Conv2DBackwardWeightRef(dW, in, dOut []float32, p ConvParams) {
	p.check(dOut, in, dW)
	oh, ow := p.OutH(), p.OutW()
	icg, ocg := p.InC/p.Groups, p.OutC/p.Groups
	for o := 0; o < p.OutC; o++ {
		g := o / ocg
		for c := 0; c < icg; c++ {
			ic := g*icg + c
			for ky := 0; ky < p.KH; ky++ {
				for kx := 0; kx < p.KW; kx++ {
					var s float64
					for n := 0; n < p.N; n++ {
						for y := 0; y < oh; y++ {
							iy := y*p.StrideH - p.PadH + ky
							if iy < 0 || iy >= p.InH {
								continue
							}
							for x := 0; x < ow; x++ {
								ix := x*p.StrideW - p.PadW + kx
								if ix < 0 || ix >= p.InW {
									continue
								}
								s += float64(dOut[((n*p.OutC+o)*oh+y)*ow+x]) * float64(in[((n*p.InC+ic)*p.InH+iy)*p.InW+ix])
							}
						}
					}
					dW[((o*icg+c)*p.KH+ky)*p.KW+kx] = float32(s)
				}
			}
		}
	}
}

// BiasBackward writes db[c] = Σ_{n,h,w} dOut[n][c][h][w] for an NCHW
// gradient with `channels` channels of hw elements each.
func BiasBackward(db, dOut []float32, n, channels, hw int) {
	if len(db) < channels || len(dOut) < n*channels*hw {
		panic("kernels: bias gradient slices too short")
	}
	for c := 0; c < channels; c++ {
		var s float64
		for i := 0; i < n; i++ {
			for _, v := range dOut[(i*channels+c)*hw : (i*channels+c+1)*hw] {
				s += float64(v)
			}
		}
		db[c] = float32(s)
	}
}

// Conv2DBackwardData computes Conv2DBackwardDataRef with the production
// kernels: Wᵀ·dOut as a GEMM followed by col2im for dense and grouped convs,
// a direct scatter for depthwise ones. The GEMM reads Wᵀ in its packing
// routine (no transposed copy). Images run on separate goroutines; a single
// image spreads its GEMM. With AVX2+FMA, Wᵀ is packed once for the whole
// batch and 3×3 depthwise convs with stride 1 run the forward plane kernel
// with flipped taps.
func Conv2DBackwardData(dIn, dOut, w []float32, p ConvParams) {
	p.check(dOut, dIn, w)
	if backwardDataFast(dIn, dOut, w, p) {
		return
	}
	inSz, outSz := p.InC*p.InH*p.InW, p.OutC*p.OutH()*p.OutW()
	if p.N == 1 {
		// a single image spreads its GEMM instead
		convBackwardDataImage(dIn, dOut, w, p, true)
		return
	}
	parallelFor(p.N, 1, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			convBackwardDataImage(dIn[n*inSz:(n+1)*inSz], dOut[n*outSz:(n+1)*outSz], w, p, false)
		}
	})
}

// convBackwardDataImage computes one image's input gradient; parallel lets
// its GEMMs use the package's goroutines.
func convBackwardDataImage(dIn, dOut, w []float32, p ConvParams, parallel bool) {
	ohw := p.OutH() * p.OutW()
	switch {
	case p.depthwise():
		depthwiseBackwardData(dIn, dOut, w, p)
	case p.pointwise():
		gemm(dIn, w, dOut, GemmParams{M: p.InC, N: ohw, K: p.OutC, TransA: true}, parallel)
	default:
		icg, ocg := p.InC/p.Groups, p.OutC/p.Groups
		k := icg * p.KH * p.KW
		col := buffers.Get(k * ohw)
		clear(dIn[:p.InC*p.InH*p.InW])
		for g := 0; g < p.Groups; g++ {
			gemm(*col, w[g*ocg*k:], dOut[g*ocg*ohw:], GemmParams{M: k, N: ohw, K: ocg, TransA: true, LDA: k}, parallel)
			col2imAdd(dIn[g*icg*p.InH*p.InW:], *col, icg, p)
		}
		buffers.Put(col)
	}
}

func depthwiseBackwardData(dIn, dOut, w []float32, p ConvParams) {
	oh, ow := p.OutH(), p.OutW()
	kk := p.KH * p.KW
	clear(dIn[:p.InC*p.InH*p.InW])
	for c := 0; c < p.InC; c++ {
		plane := dIn[c*p.InH*p.InW : (c+1)*p.InH*p.InW]
		wc := w[c*kk : (c+1)*kk]
		for y := 0; y < oh; y++ {
			src := dOut[(c*oh+y)*ow : (c*oh+y+1)*ow]
			for ky := 0; ky < p.KH; ky++ {
				iy := y*p.StrideH - p.PadH + ky
				if iy < 0 || iy >= p.InH {
					continue
				}
				dst := plane[iy*p.InW : (iy+1)*p.InW]
				for kx := 0; kx < p.KW; kx++ {
					wv := wc[ky*p.KW+kx]
					x0, x1 := validRange(kx, p.StrideW, p.PadW, p.InW, ow)
					off := kx - p.PadW
					for x := x0; x < x1; x++ {
						dst[x*p.StrideW+off] += wv * src[x]
					}
				}
			}
		}
	}
}

// Conv2DBackwardWeight computes Conv2DBackwardWeightRef with the production
// kernels: dOut·colᵀ GEMMs for dense and grouped convs, a direct reduction
// for depthwise ones. Each goroutine sums a share of the batch into its own
// buffer; the shares are added at the end. With AVX2+FMA each goroutine
// instead owns a share of the output rows of dW (dense) or of the channels
// (depthwise) and walks the whole batch, so nothing is added up afterwards.
func Conv2DBackwardWeight(dW, in, dOut []float32, p ConvParams) {
	p.check(dOut, in, dW)
	if backwardWeightFast(dW, in, dOut, p) {
		return
	}
	wsz := p.WeightSize()
	inSz, outSz := p.InC*p.InH*p.InW, p.OutC*p.OutH()*p.OutW()
	parts := min(Threads(), p.N)
	if parts <= 1 {
		clear(dW[:wsz])
		for n := 0; n < p.N; n++ {
			convBackwardWeightImage(dW, in[n*inSz:(n+1)*inSz], dOut[n*outSz:(n+1)*outSz], p, true)
		}
		return
	}
	partial := buffers.Get(parts * wsz)
	clear(*partial)
	done := make(chan struct{}, parts)
	for t := 0; t < parts; t++ {
		lo, hi := t*p.N/parts, (t+1)*p.N/parts
		acc := (*partial)[t*wsz : (t+1)*wsz]
		go func() {
			for n := lo; n < hi; n++ {
				convBackwardWeightImage(acc, in[n*inSz:(n+1)*inSz], dOut[n*outSz:(n+1)*outSz], p, false)
			}
			done <- struct{}{}
		}()
	}
	for t := 0; t < parts; t++ {
		<-done
	}
	copy(dW[:wsz], (*partial)[:wsz])
	for t := 1; t < parts; t++ {
		acc := (*partial)[t*wsz : (t+1)*wsz]
		for i, v := range acc {
			dW[i] += v
		}
	}
	buffers.Put(partial)
}

// convBackwardWeightImage adds one image's weight gradient into dW;
// parallel lets its GEMMs use the package's goroutines.
func convBackwardWeightImage(dW, in, dOut []float32, p ConvParams, parallel bool) {
	ohw := p.OutH() * p.OutW()
	switch {
	case p.depthwise():
		depthwiseBackwardWeight(dW, in, dOut, p)
	case p.pointwise():
		gemm(dW, dOut, in, GemmParams{M: p.OutC, N: p.InC, K: ohw, TransB: true, Accumulate: true}, parallel)
	default:
		icg, ocg := p.InC/p.Groups, p.OutC/p.Groups
		k := icg * p.KH * p.KW
		col := buffers.Get(k * ohw)
		for g := 0; g < p.Groups; g++ {
			im2col(*col, in[g*icg*p.InH*p.InW:], icg, p)
			gemm(dW[g*ocg*k:], dOut[g*ocg*ohw:], *col, GemmParams{M: ocg, N: k, K: ohw, TransB: true, Accumulate: true}, parallel)
		}
		buffers.Put(col)
	}
}

func depthwiseBackwardWeight(dW, in, dOut []float32, p ConvParams) {
	oh, ow := p.OutH(), p.OutW()
	kk := p.KH * p.KW
	for c := 0; c < p.InC; c++ {
		plane := in[c*p.InH*p.InW : (c+1)*p.InH*p.InW]
		for ky := 0; ky < p.KH; ky++ {
			for kx := 0; kx < p.KW; kx++ {
				x0, x1 := validRange(kx, p.StrideW, p.PadW, p.InW, ow)
				off := kx - p.PadW
				var s float32
				for y := 0; y < oh; y++ {
					iy := y*p.StrideH - p.PadH + ky
					if iy < 0 || iy >= p.InH {
						continue
					}
					src := plane[iy*p.InW : (iy+1)*p.InW]
					d := dOut[(c*oh+y)*ow : (c*oh+y+1)*ow]
					for x := x0; x < x1; x++ {
						s += d[x] * src[x*p.StrideW+off]
					}
				}
				dW[c*kk+ky*p.KW+kx] += s
			}
		}
	}
}
