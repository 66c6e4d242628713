package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// blockedCases are convs of every blocked kind: s0's shapes, odd block
// counts (3 and 5 blocks: groups of 3), more than 256 input channels (two
// chunks), planes narrower than the row kernels' unrolling, odd widths at
// stride 2 (a last output missing its right column), the width
// thresholds of the NCHW stride-2 kernels (9 and 18) and classifier heads
// (1×1 planes, output counts not a multiple of 16).
func blockedCases() []ConvParams {
	pw := func(cin, cout, h, w int) ConvParams {
		return ConvParams{N: 1, InC: cin, InH: h, InW: w, OutC: cout, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}
	}
	dw := func(c, h, w, s int) ConvParams {
		return ConvParams{N: 1, InC: c, InH: h, InW: w, OutC: c, KH: 3, KW: 3, StrideH: s, StrideW: s, PadH: 1, PadW: 1, Groups: c}
	}
	stem := func(cout, h, w int) ConvParams {
		return ConvParams{N: 1, InC: 3, InH: h, InW: w, OutC: cout, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1}
	}
	cs := []ConvParams{
		pw(48, 48, 56, 56), pw(128, 128, 28, 28), pw(256, 256, 14, 14), pw(256, 1024, 7, 7),
		pw(80, 80, 5, 7), pw(512, 48, 3, 5), pw(16, 16, 1, 1), pw(16, 32, 2, 13), pw(272, 16, 1, 25),
		// classifier heads: 1×1 planes, any output count, split by groups
		pw(1024, 1000, 1, 1), pw(64, 10, 1, 1), pw(2048, 1000, 1, 1),
		stem(48, 224, 224), stem(64, 32, 32), stem(16, 33, 17), stem(80, 2, 3), stem(48, 1, 1),
	}
	for _, s := range []int{1, 2} {
		for _, w := range []int{1, 2, 3, 4, 7, 8, 9, 10, 14, 17, 18, 19, 28, 29, 56} {
			cs = append(cs, dw(32, 5, w, s), dw(16, 1, w, s))
		}
		cs = append(cs, dw(48, 112, 112, s), dw(256, 14, 14, s))
	}
	return cs
}

// TestBlockedMatchesNCHW checks every blocked kernel against Conv2D on the
// same values laid out NCHW: bit for bit on the AVX-512 and AVX2 paths (the
// blocked kernels keep the NCHW kernels' sums), within rounding on the Go
// path (the blocked kernels' Go twins against the Go NCHW kernels), with
// one and two threads, batch 2.
func TestBlockedMatchesNCHW(t *testing.T) {
	paths(t, func(t *testing.T) {
		exact := useAVX2
		r := rand.New(rand.NewSource(31))
		for _, p := range blockedCases() {
			for _, act := range []Activation{ActReLU, ActNone} {
				p.N = 2
				name := fmt.Sprintf("%dx%dx%d>%d k%d s%d g%d act%d", p.InC, p.InH, p.InW, p.OutC, p.KH, p.StrideH, p.Groups, act)
				x, w, bias := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutC)
				want := make([]float32, p.OutSize())
				Conv2D(want, x, w, bias, p, act)
				kind, _ := blockedKind(p)
				in := x
				ihw, ohw := p.InH*p.InW, p.OutH()*p.OutW()
				if kind != blockedStem {
					in = make([]float32, len(x))
					for n := 0; n < p.N; n++ {
						ToBlocked(in[n*p.InC*ihw:], x[n*p.InC*ihw:], p.InC, ihw)
					}
				}
				c := NewBlockedConv(w, bias, p)
				for _, th := range []int{1, 2} {
					old := SetThreads(th)
					out := randSlice(r, p.OutSize())
					if th == 1 {
						c.ForwardSerial(out, in, act)
					} else {
						c.Forward(out, in, act)
					}
					SetThreads(old)
					got := make([]float32, len(out))
					for n := 0; n < p.N; n++ {
						FromBlocked(got[n*p.OutC*ohw:], out[n*p.OutC*ohw:], p.OutC, ohw)
					}
					for i := range want {
						g, e := got[i], want[i]
						if exact && g != e || !exact && math.Abs(float64(g-e)) > 1e-4*(1+math.Abs(float64(e))) {
							t.Fatalf("%s, %d threads: output %d = %v, NCHW %v", name, th, i, g, e)
						}
					}
				}
			}
		}
	})
}

// TestBlockedLayout checks ToBlocked and FromBlocked against the layout's
// definition and each other, and the blocked pooling and channel scaling
// against the NCHW ones.
func TestBlockedLayout(t *testing.T) {
	paths(t, func(t *testing.T) {
		for _, hw := range []int{1, 7, 196} {
			testBlockedLayout(t, 48, hw)
		}
	})
}

func testBlockedLayout(t *testing.T, c, hw int) {
	r := rand.New(rand.NewSource(32))
	x := randSlice(r, c*hw)
	b := make([]float32, len(x))
	ToBlocked(b, x, c, hw)
	for ch := 0; ch < c; ch++ {
		for p := 0; p < hw; p++ {
			if b[((ch/16)*hw+p)*16+ch%16] != x[ch*hw+p] {
				t.Fatalf("channel %d pixel %d misplaced", ch, p)
			}
		}
	}
	back := make([]float32, len(x))
	FromBlocked(back, b, c, hw)
	for i := range x {
		if back[i] != x[i] {
			t.Fatalf("round trip changed element %d", i)
		}
	}
	scale := randSlice(r, c)
	for _, relu := range []bool{false, true} {
		scaled, scaledB := make([]float32, len(x)), append([]float32(nil), b...)
		ScaleChannels(scaled, x, scale, 1, c, hw)
		if relu {
			ReLU(scaled, scaled)
		}
		ScaleChannelsBlocked(scaledB, scale, c, hw, relu)
		FromBlocked(back, scaledB, c, hw)
		for i := range scaled {
			if back[i] != scaled[i] {
				t.Fatalf("relu %v: scaled element %d = %v, NCHW %v", relu, i, back[i], scaled[i])
			}
		}
	}
	pooled, want := make([]float32, c), make([]float32, c)
	GlobalAvgPoolBlocked(pooled, b, c, hw)
	GlobalAvgPool(want, x, 1, c, hw)
	for i := range want {
		if pooled[i] != want[i] {
			t.Fatalf("pooled channel %d = %v, NCHW %v", i, pooled[i], want[i])
		}
	}
}

// TestBlockedReLUKeepsNaNAndNegativeZero: the blocked kernels clamp as the
// Go loops do (`if s < 0 { s = 0 }`): a NaN stays NaN and −0 stays −0
// (the AVX2 kernels take a max with a floor register, the AVX-512 ones a
// masked max with zero).
func TestBlockedReLUKeepsNaNAndNegativeZero(t *testing.T) {
	nan, negZero := float32(math.NaN()), float32(math.Copysign(0, -1))
	paths(t, func(t *testing.T) {
		const c, hw = 32, 7
		x := make([]float32, c*hw)
		for i := range x {
			x[i] = []float32{nan, negZero, 0, -1.5, 2.5, float32(math.Inf(-1)), 3}[i%7]
		}
		scale := make([]float32, c)
		for i := range scale {
			scale[i] = 0.5 + float32(i%3)
		}
		for _, relu := range []bool{false, true} {
			got := append([]float32(nil), x...)
			ScaleChannelsBlocked(got, scale, c, hw, relu)
			for i, v := range x {
				want := v * scale[(i/(hw*BlockC))*BlockC+i%BlockC]
				if relu && want < 0 {
					want = 0
				}
				if math.Float32bits(got[i]) != math.Float32bits(want) && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want))) {
					t.Fatalf("relu %v: scaled element %d (%v) = %v, want %v", relu, i, v, got[i], want)
				}
			}
		}
		// a NaN input pixel makes every output channel of that pixel NaN
		// through the pointwise and depthwise convs, ReLU or not
		r := rand.New(rand.NewSource(33))
		pw := ConvParams{N: 1, InC: c, InH: 3, InW: 5, OutC: c, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}
		dw := ConvParams{N: 1, InC: c, InH: 3, InW: 5, OutC: c, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: c}
		for _, p := range []ConvParams{pw, dw} {
			in := randSlice(r, p.InSize())
			const px = 7 // pixel (1, 2): inside, so every 3×3 window around it sees it once
			for b := 0; b < c/BlockC; b++ {
				for l := 0; l < BlockC; l++ {
					in[(b*15+px)*BlockC+l] = nan
				}
			}
			conv := NewBlockedConv(randSlice(r, p.WeightSize()), randSlice(r, p.OutC), p)
			for _, act := range []Activation{ActReLU, ActNone} {
				out := make([]float32, p.OutSize())
				conv.ForwardSerial(out, in, act)
				for b := 0; b < c/BlockC; b++ {
					for l := 0; l < BlockC; l++ {
						if v := out[(b*15+px)*BlockC+l]; !math.IsNaN(float64(v)) {
							t.Fatalf("kernel %d act %d: channel %d at the NaN pixel = %v", p.KH, act, b*BlockC+l, v)
						}
					}
				}
			}
		}
	})
}
