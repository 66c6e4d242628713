package kernels

import "math"

// BatchNormInference applies eval-mode BatchNorm2d to an NCHW tensor the way
// PyTorch's CPU kernel evaluates it, in float32 per channel:
//
//	invstd = 1/sqrt(var+eps); alpha = invstd·weight; beta = bias − mean·alpha
//	out = x·alpha + beta
//
// out may alias x. With accumulate, the result is added to out instead.
func BatchNormInference(out, x, mean, variance, weight, bias []float32, eps float32, n, channels, hw int, accumulate bool) {
	if len(x) < n*channels*hw || len(out) < n*channels*hw || len(mean) < channels || len(variance) < channels || len(weight) < channels || len(bias) < channels {
		panic("kernels: batchnorm slices too short")
	}
	for c := 0; c < channels; c++ {
		invstd := 1 / float32(math.Sqrt(float64(variance[c]+eps)))
		alpha := invstd * weight[c]
		beta := bias[c] - mean[c]*alpha
		for i := 0; i < n; i++ {
			src := x[(i*channels+c)*hw : (i*channels+c+1)*hw]
			dst := out[(i*channels+c)*hw : (i*channels+c+1)*hw]
			dst = dst[:len(src)]
			if accumulate {
				for j, v := range src {
					dst[j] += v*alpha + beta
				}
			} else {
				for j, v := range src {
					dst[j] = v*alpha + beta
				}
			}
		}
	}
}

// BNStats holds what train-mode BatchNorm saves for its backward pass.
type BNStats struct {
	Mean, InvStd []float32 // per channel: batch mean and 1/sqrt(biased var + eps)
	VarUnbiased  []float32 // per channel: batch variance with Bessel's correction
}

// BatchNormTrain applies train-mode BatchNorm2d (batch statistics) to an
// NCHW tensor: out = (x−mean)·invstd·weight + bias, with the mean and the
// biased variance over N·H·W. The statistics go into st (its slices must
// hold `channels` values). Sums are accumulated in float64. out may alias x.
// With accumulate, the result is added to out (then out must not alias x).
func BatchNormTrain(out, x, weight, bias []float32, eps float32, n, channels, hw int, st BNStats, accumulate bool) {
	if len(x) < n*channels*hw || len(out) < n*channels*hw || len(st.Mean) < channels || len(st.InvStd) < channels || len(st.VarUnbiased) < channels {
		panic("kernels: batchnorm slices too short")
	}
	m := n * hw
	if hw < bnSmallHW {
		parallelForLeaf(channels, max(1, bnChunkMin/max(1, m)), func(lo, hi int) {
			bnTrainSmall(out, x, weight, bias, eps, n, channels, hw, st, accumulate, lo, hi)
		})
		return
	}
	parallelForLeaf(channels, max(1, bnChunkMin/max(1, m)), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for i := 0; i < n; i++ {
				s += sum64(x[(i*channels+c)*hw:(i*channels+c+1)*hw], 0, false)
			}
			mean := s / float64(m)
			var ss float64
			for i := 0; i < n; i++ {
				ss += sum64(x[(i*channels+c)*hw:(i*channels+c+1)*hw], mean, true)
			}
			varB := ss / float64(m)
			unb := varB
			if m > 1 {
				unb = ss / float64(m-1)
			}
			invstd := float32(1 / math.Sqrt(varB+float64(eps)))
			st.Mean[c], st.InvStd[c], st.VarUnbiased[c] = float32(mean), invstd, float32(unb)
			mf := float32(mean)
			w, b := weight[c], bias[c]
			for i := 0; i < n; i++ {
				src := x[(i*channels+c)*hw : (i*channels+c+1)*hw]
				dst := out[(i*channels+c)*hw : (i*channels+c+1)*hw]
				dst = dst[:len(src)]
				j0 := 0
				if useAVX2 && len(src) >= 8 {
					j0 = len(src) &^ 7
					acc := 0
					if accumulate {
						acc = 1
					}
					bnTrainOutVec(&dst[0], &src[0], j0, mf, invstd, w, b, acc)
				}
				if accumulate {
					for j := j0; j < len(src); j++ {
						dst[j] += (src[j]-mf)*invstd*w + b
					}
				} else {
					for j := j0; j < len(src); j++ {
						dst[j] = (src[j]-mf)*invstd*w + b
					}
				}
			}
		}
	})
}

// BatchNormTrainBackward is the gradient of BatchNormTrain. Given dOut, the
// forward input x and the saved statistics, it writes dWeight, dBias and
// (when dx is not nil) adds the input gradient into dx:
//
//	x̂ = (x−mean)·invstd; dBias = Σ dOut; dWeight = Σ dOut·x̂
//	dx += weight·invstd·(dOut − dBias/M − x̂·dWeight/M)
func BatchNormTrainBackward(dx, dWeight, dBias, dOut, x, weight []float32, n, channels, hw int, st BNStats) {
	bnTrainBackward(dx, dWeight, dBias, dOut, x, weight, n, channels, hw, st, false)
}

// BatchNormTrainBackwardTo is BatchNormTrainBackward writing the input
// gradient into dx instead of adding it (dx's contents are ignored).
func BatchNormTrainBackwardTo(dx, dWeight, dBias, dOut, x, weight []float32, n, channels, hw int, st BNStats) {
	bnTrainBackward(dx, dWeight, dBias, dOut, x, weight, n, channels, hw, st, true)
}

// bnChunkMin is the number of values (channels × N·H·W) from which the
// BatchNorm kernels are split over goroutines.
const bnChunkMin = 16384

// elemChunkMin is the length from which elementwise kernels are split.
const elemChunkMin = 1 << 15

func bnTrainBackward(dx, dWeight, dBias, dOut, x, weight []float32, n, channels, hw int, st BNStats, overwrite bool) {
	m := n * hw
	if hw < bnSmallHW {
		parallelForLeaf(channels, max(1, bnChunkMin/max(1, m)), func(lo, hi int) {
			bnTrainBackwardSmall(dx, dWeight, dBias, dOut, x, weight, n, channels, hw, st, overwrite, lo, hi)
		})
		return
	}
	parallelForLeaf(channels, max(1, bnChunkMin/max(1, m)), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			mean, invstd := st.Mean[c], st.InvStd[c]
			var sd, sdx float64
			for i := 0; i < n; i++ {
				a, b := bnBackwardSums(dOut[(i*channels+c)*hw:(i*channels+c+1)*hw], x[(i*channels+c)*hw:(i*channels+c+1)*hw], mean, invstd)
				sd += a
				sdx += b
			}
			dBias[c], dWeight[c] = float32(sd), float32(sdx)
			if dx == nil {
				continue
			}
			k := weight[c] * invstd
			mb := float32(sd / float64(m))
			mw := float32(sdx / float64(m))
			for i := 0; i < n; i++ {
				xs := x[(i*channels+c)*hw : (i*channels+c+1)*hw]
				ds := dOut[(i*channels+c)*hw : (i*channels+c+1)*hw]
				dd := dx[(i*channels+c)*hw : (i*channels+c+1)*hw]
				ds, dd = ds[:len(xs)], dd[:len(xs)]
				if overwrite {
					clear(dd)
				}
				j0 := 0
				if useAVX2 && len(xs) >= 8 {
					j0 = len(xs) &^ 7
					bnBackwardDxVec(&dd[0], &ds[0], &xs[0], j0, mean, invstd, k, mb, mw)
				}
				for j := j0; j < len(xs); j++ {
					v := xs[j]
					xh := (v - mean) * invstd
					dd[j] += k * (ds[j] - mb - xh*mw)
				}
			}
		}
	})
}

// ReLU writes max(0, x) into out (out may alias x).
func ReLU(out, x []float32) {
	out = out[:len(x)]
	if len(x) >= 2*elemChunkMin && Threads() > 1 {
		runSplit(splitJob{kind: splitReLU, a: out, b: x, units: len(x)}, elemChunkMin)
		return
	}
	reluRange(out, x)
}

func reluRange(out, x []float32) {
	out = out[:len(x)]
	i0 := 0
	if useAVX2 && len(x) >= 8 {
		i0 = len(x) &^ 7
		reluVec(&out[0], &x[0], i0)
	}
	for i := i0; i < len(x); i++ {
		v := x[i]
		if v < 0 {
			v = 0
		}
		out[i] = v
	}
}

// ReLUBackward writes dx = dy where the forward output y is > 0, else 0
// (dx may alias dy).
func ReLUBackward(dx, dy, y []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	if len(y) >= 2*elemChunkMin && Threads() > 1 {
		runSplit(splitJob{kind: splitReLUBackward, a: dx, b: dy, c: y, units: len(y)}, elemChunkMin)
		return
	}
	reluBackwardRange(dx, dy, y)
}

func reluBackwardRange(dx, dy, y []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	i0 := 0
	if useAVX2 && len(y) >= 8 {
		i0 = len(y) &^ 7
		reluBackwardVec(&dx[0], &dy[0], &y[0], i0)
	}
	for i := i0; i < len(y); i++ {
		v := y[i]
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// Sigmoid writes 1/(1+exp(−x)) into out (out may alias x).
func Sigmoid(out, x []float32) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

// Add writes a + b elementwise into out (out may alias either).
func Add(out, a, b []float32) {
	out, b = out[:len(a)], b[:len(a)]
	if len(a) >= 2*elemChunkMin && Threads() > 1 {
		runSplit(splitJob{kind: splitAdd, a: out, b: a, c: b, units: len(a)}, elemChunkMin)
		return
	}
	addRange(out, a, b)
}

func addRange(out, a, b []float32) {
	out, b = out[:len(a)], b[:len(a)]
	i0 := 0
	if useAVX2 && len(a) >= 8 {
		i0 = len(a) &^ 7
		addVec(&out[0], &a[0], &b[0], i0)
	}
	for i := i0; i < len(a); i++ {
		out[i] = a[i] + b[i]
	}
}

// GlobalAvgPool writes the mean over each H·W plane of an NCHW tensor into
// out[n·channels + c], summing in float64.
func GlobalAvgPool(out, x []float32, n, channels, hw int) {
	if len(out) < n*channels || len(x) < n*channels*hw {
		panic("kernels: pooling slices too short")
	}
	// Four planes at a time: each sum is still one float64 chain in plane
	// order, but four independent chains hide the add latency (the neck
	// of s0 at batch 1, 1024 planes of 49, took ~45 us one at a time).
	planes := n * channels
	i := 0
	for ; i+4 <= planes; i += 4 {
		p0 := x[i*hw : (i+1)*hw]
		p1 := x[(i+1)*hw : (i+2)*hw]
		p2 := x[(i+2)*hw : (i+3)*hw]
		p3 := x[(i+3)*hw : (i+4)*hw]
		var s0, s1, s2, s3 float64
		for j := range p0 {
			s0 += float64(p0[j])
			s1 += float64(p1[j])
			s2 += float64(p2[j])
			s3 += float64(p3[j])
		}
		out[i] = float32(s0 / float64(hw))
		out[i+1] = float32(s1 / float64(hw))
		out[i+2] = float32(s2 / float64(hw))
		out[i+3] = float32(s3 / float64(hw))
	}
	for ; i < planes; i++ {
		var s float64
		for _, v := range x[i*hw : (i+1)*hw] {
			s += float64(v)
		}
		out[i] = float32(s / float64(hw))
	}
}

// GlobalAvgPoolBackward spreads dOut[n·channels+c]/hw over each plane of dx
// (adding into dx when accumulate).
func GlobalAvgPoolBackward(dx, dOut []float32, n, channels, hw int, accumulate bool) {
	inv := 1 / float32(hw)
	for i := 0; i < n*channels; i++ {
		g := dOut[i] * inv
		plane := dx[i*hw : (i+1)*hw]
		if accumulate {
			for j := range plane {
				plane[j] += g
			}
		} else {
			for j := range plane {
				plane[j] = g
			}
		}
	}
}

// ScaleChannels multiplies each H·W plane of x by scale[n·channels + c]
// (the SE layer's excitation), writing into out (out may alias x).
func ScaleChannels(out, x, scale []float32, n, channels, hw int) {
	for i := 0; i < n*channels; i++ {
		s := scale[i]
		src := x[i*hw : (i+1)*hw]
		dst := out[i*hw : (i+1)*hw]
		dst = dst[:len(src)]
		for j, v := range src {
			dst[j] = v * s
		}
	}
}

// Linear computes out[n×outF] = x[n×inF]·wᵀ + bias, with w stored
// outF×inF as torch.nn.Linear keeps it. bias may be nil.
func Linear(out, x, w, bias []float32, n, inF, outF int) {
	Gemm(out, x, w, GemmParams{M: n, N: outF, K: inF, TransB: true})
	if bias != nil {
		for i := 0; i < n; i++ {
			row := out[i*outF : (i+1)*outF]
			for j := range row {
				row[j] += bias[j]
			}
		}
	}
}

// sum64 is Σ xs (sq false) or Σ (x−mean)² (sq true) in float64, in
// interleaved partial sums (the float64 add latency, not the loads, bounds
// a single chain).
func sum64(xs []float32, mean float64, sq bool) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	if useAVX2 && len(xs) >= 8 {
		i = len(xs) &^ 7
		q := 0
		if sq {
			q = 1
		}
		s0 = bnSumsVec(&xs[0], i, mean, q)
	}
	if sq {
		for ; i < len(xs); i++ {
			d := float64(xs[i]) - mean
			s1 += d * d
		}
		return s0 + s1
	}
	for ; i+4 <= len(xs); i += 4 {
		q := (*[4]float32)(xs[i:])
		s0 += float64(q[0])
		s1 += float64(q[1])
		s2 += float64(q[2])
		s3 += float64(q[3])
	}
	for ; i < len(xs); i++ {
		s0 += float64(xs[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// bnBackwardSums returns Σ g and Σ g·x̂ (x̂ = (x−mean)·invstd in float32)
// in float64, two partial sums each.
func bnBackwardSums(ds, xs []float32, mean, invstd float32) (float64, float64) {
	ds = ds[:len(xs)]
	var a0, a1, b0, b1 float64
	i := 0
	if useAVX2 && len(xs) >= 8 {
		i = len(xs) &^ 7
		a0, b0 = bnBackwardSumsVec(&ds[0], &xs[0], i, mean, invstd)
	}
	for ; i+2 <= len(xs); i += 2 {
		g0, g1 := float64(ds[i]), float64(ds[i+1])
		a0 += g0
		a1 += g1
		b0 += g0 * float64((xs[i]-mean)*invstd)
		b1 += g1 * float64((xs[i+1]-mean)*invstd)
	}
	for ; i < len(xs); i++ {
		g := float64(ds[i])
		a0 += g
		b0 += g * float64((xs[i]-mean)*invstd)
	}
	return a0 + a1, b0 + b1
}
