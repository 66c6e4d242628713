package kernels

import "math"

// BatchNorm on small planes (H·W below bnSmallHW, the 1×1 to 4×4 maps of
// the last stages at low resolution): the per-plane loops of BatchNormTrain
// would run a few values per call, so channels are taken in blocks and
// the images walked outermost, each image's block of channels being one
// contiguous run of memory.

// bnSmallHW is the plane size below which the small-plane path runs (a
// variable for the tests).
var bnSmallHW = 16

const bnSmallBlock = 64

// bnTrainSmall is BatchNormTrain for channels [lo, hi) of small planes.
func bnTrainSmall(out, x, weight, bias []float32, eps float32, n, channels, hw int, st BNStats, accumulate bool, lo, hi int) {
	m := n * hw
	var s, ss [bnSmallBlock]float64
	var mf, is, ws, bs [bnSmallBlock]float32
	for c0 := lo; c0 < hi; c0 += bnSmallBlock {
		c1 := min(c0+bnSmallBlock, hi)
		nb := c1 - c0
		clear(s[:nb])
		clear(ss[:nb])
		for i := 0; i < n; i++ {
			seg := x[(i*channels+c0)*hw : (i*channels+c1)*hw]
			c := 0
			for ; c+2 <= nb; c += 2 {
				// two channels at once: independent float64 chains
				p0 := seg[c*hw : (c+1)*hw]
				p1 := seg[(c+1)*hw : (c+2)*hw]
				p1 = p1[:len(p0)]
				var a0, a1 float64
				for j, v := range p0 {
					a0 += float64(v)
					a1 += float64(p1[j])
				}
				s[c] += a0
				s[c+1] += a1
			}
			for ; c < nb; c++ {
				var a float64
				for _, v := range seg[c*hw : (c+1)*hw] {
					a += float64(v)
				}
				s[c] += a
			}
		}
		var mean [bnSmallBlock]float64
		for c := 0; c < nb; c++ {
			mean[c] = s[c] / float64(m)
		}
		for i := 0; i < n; i++ {
			seg := x[(i*channels+c0)*hw : (i*channels+c1)*hw]
			c := 0
			for ; c+2 <= nb; c += 2 {
				mu0, mu1 := mean[c], mean[c+1]
				p0 := seg[c*hw : (c+1)*hw]
				p1 := seg[(c+1)*hw : (c+2)*hw]
				p1 = p1[:len(p0)]
				var a0, a1 float64
				for j, v := range p0 {
					d0 := float64(v) - mu0
					d1 := float64(p1[j]) - mu1
					a0 += d0 * d0
					a1 += d1 * d1
				}
				ss[c] += a0
				ss[c+1] += a1
			}
			for ; c < nb; c++ {
				mu := mean[c]
				var a float64
				for _, v := range seg[c*hw : (c+1)*hw] {
					d := float64(v) - mu
					a += d * d
				}
				ss[c] += a
			}
		}
		for c := 0; c < nb; c++ {
			varB := ss[c] / float64(m)
			unb := varB
			if m > 1 {
				unb = ss[c] / float64(m-1)
			}
			invstd := float32(1 / math.Sqrt(varB+float64(eps)))
			cc := c0 + c
			st.Mean[cc], st.InvStd[cc], st.VarUnbiased[cc] = float32(mean[c]), invstd, float32(unb)
			mf[c], is[c], ws[c], bs[c] = float32(mean[c]), invstd, weight[cc], bias[cc]
		}
		for i := 0; i < n; i++ {
			src := x[(i*channels+c0)*hw : (i*channels+c1)*hw]
			dst := out[(i*channels+c0)*hw : (i*channels+c1)*hw]
			dst = dst[:len(src)]
			for c := 0; c < nb; c++ {
				mu, iv, w, b := mf[c], is[c], ws[c], bs[c]
				d, sv := dst[c*hw:(c+1)*hw], src[c*hw:(c+1)*hw]
				d = d[:len(sv)]
				if accumulate {
					for j, v := range sv {
						d[j] += (v-mu)*iv*w + b
					}
				} else {
					for j, v := range sv {
						d[j] = (v-mu)*iv*w + b
					}
				}
			}
		}
	}
}

// bnTrainBackwardSmall is bnTrainBackward for channels [lo, hi) of small
// planes.
func bnTrainBackwardSmall(dx, dWeight, dBias, dOut, x, weight []float32, n, channels, hw int, st BNStats, overwrite bool, lo, hi int) {
	m := n * hw
	var sd, sdx [bnSmallBlock]float64
	var ks, mbs, mws [bnSmallBlock]float32
	for c0 := lo; c0 < hi; c0 += bnSmallBlock {
		c1 := min(c0+bnSmallBlock, hi)
		nb := c1 - c0
		clear(sd[:nb])
		clear(sdx[:nb])
		mean, invstd := st.Mean[c0:c1], st.InvStd[c0:c1]
		for i := 0; i < n; i++ {
			xs := x[(i*channels+c0)*hw : (i*channels+c1)*hw]
			ds := dOut[(i*channels+c0)*hw : (i*channels+c1)*hw]
			ds = ds[:len(xs)]
			c := 0
			for ; c+2 <= nb; c += 2 {
				mu0, iv0, mu1, iv1 := mean[c], invstd[c], mean[c+1], invstd[c+1]
				x0, d0 := xs[c*hw:(c+1)*hw], ds[c*hw:(c+1)*hw]
				x1, d1 := xs[(c+1)*hw:(c+2)*hw], ds[(c+1)*hw:(c+2)*hw]
				d0, x1, d1 = d0[:len(x0)], x1[:len(x0)], d1[:len(x0)]
				var a0, b0, a1, b1 float64
				for j, v := range x0 {
					g0, g1 := float64(d0[j]), float64(d1[j])
					a0 += g0
					b0 += g0 * float64((v-mu0)*iv0)
					a1 += g1
					b1 += g1 * float64((x1[j]-mu1)*iv1)
				}
				sd[c] += a0
				sdx[c] += b0
				sd[c+1] += a1
				sdx[c+1] += b1
			}
			for ; c < nb; c++ {
				mu, iv := mean[c], invstd[c]
				var a, b float64
				xc, dc := xs[c*hw:(c+1)*hw], ds[c*hw:(c+1)*hw]
				dc = dc[:len(xc)]
				for j, v := range xc {
					g := float64(dc[j])
					a += g
					b += g * float64((v-mu)*iv)
				}
				sd[c] += a
				sdx[c] += b
			}
		}
		for c := 0; c < nb; c++ {
			dBias[c0+c], dWeight[c0+c] = float32(sd[c]), float32(sdx[c])
			ks[c] = weight[c0+c] * invstd[c]
			mbs[c] = float32(sd[c] / float64(m))
			mws[c] = float32(sdx[c] / float64(m))
		}
		if dx == nil {
			continue
		}
		for i := 0; i < n; i++ {
			xs := x[(i*channels+c0)*hw : (i*channels+c1)*hw]
			ds := dOut[(i*channels+c0)*hw : (i*channels+c1)*hw]
			dd := dx[(i*channels+c0)*hw : (i*channels+c1)*hw]
			ds, dd = ds[:len(xs)], dd[:len(xs)]
			for c := 0; c < nb; c++ {
				mu, iv, k, mb, mw := mean[c], invstd[c], ks[c], mbs[c], mws[c]
				xc, dc, oc := xs[c*hw:(c+1)*hw], ds[c*hw:(c+1)*hw], dd[c*hw:(c+1)*hw]
				dc, oc = dc[:len(xc)], oc[:len(xc)]
				if overwrite {
					for j, v := range xc {
						xh := (v - mu) * iv
						oc[j] = k * (dc[j] - mb - xh*mw)
					}
				} else {
					for j, v := range xc {
						xh := (v - mu) * iv
						oc[j] += k * (dc[j] - mb - xh*mw)
					}
				}
			}
		}
	}
}
