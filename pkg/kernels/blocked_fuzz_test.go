package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// FuzzBlockedConv compares blocked convs of every kind, on random shapes
// and one or two goroutines, with Conv2D on the same values laid out NCHW:
// bit for bit where the assembly kernels run, within rounding on the Go
// twins.
func FuzzBlockedConv(f *testing.F) {
	f.Add(uint8(0), uint8(3), uint8(2), uint8(14), uint8(14), uint8(0))
	f.Add(uint8(1), uint8(2), uint8(2), uint8(1), uint8(29), uint8(1))
	f.Add(uint8(2), uint8(5), uint8(1), uint8(33), uint8(17), uint8(1))
	f.Add(uint8(0), uint8(17), uint8(3), uint8(5), uint8(3), uint8(0))
	f.Fuzz(func(t *testing.T, kind, inB, outB, h, w, mode uint8) {
		p := ConvParams{N: 1, InH: int(h%40) + 1, InW: int(w%40) + 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1, Groups: 1}
		switch kind % 3 {
		case 0: // pointwise, up to 320 input channels (two chunks)
			p.InC, p.OutC = 16*(int(inB%20)+1), 16*(int(outB%7)+1)
		case 1: // 3×3 depthwise, stride 1 or 2
			p.InC = 16 * (int(inB%5) + 1)
			p.OutC, p.Groups = p.InC, p.InC
			p.KH, p.KW, p.PadH, p.PadW = 3, 3, 1, 1
			if mode&2 != 0 {
				p.StrideH, p.StrideW = 2, 2
			}
		default: // stem: 1-4 channels, 3×3 stride 2
			p.InC, p.OutC = int(inB%4)+1, 16*(int(outB%5)+1)
			p.KH, p.KW, p.PadH, p.PadW, p.StrideH, p.StrideW = 3, 3, 1, 1, 2, 2
		}
		if mode&4 != 0 {
			p.N = 2
		}
		if !BlockedSupported(p) {
			t.Fatalf("%+v: no blocked kernel", p)
		}
		act := Activation(mode & 1)
		defer SetThreads(SetThreads(int(mode>>3)%2 + 1))
		eachPath(func(path string) {
			r := rand.New(rand.NewSource(int64(kind) | int64(inB)<<8 | int64(h)<<16 | int64(w)<<24))
			x, wt, bias := randSlice(r, p.InSize()), randSlice(r, p.WeightSize()), randSlice(r, p.OutC)
			want := make([]float32, p.OutSize())
			Conv2D(want, x, wt, bias, p, act)
			kindOf, _ := blockedKind(p)
			ihw, ohw := p.InH*p.InW, p.OutH()*p.OutW()
			in := x
			if kindOf != blockedStem {
				in = make([]float32, len(x))
				for n := 0; n < p.N; n++ {
					ToBlocked(in[n*p.InC*ihw:], x[n*p.InC*ihw:], p.InC, ihw)
				}
			}
			out, check := withGuard(r, p.OutSize())
			NewBlockedConv(wt, bias, p).Forward(out, in, act)
			check(t, "blocked conv")
			got := make([]float32, len(out))
			for n := 0; n < p.N; n++ {
				FromBlocked(got[n*p.OutC*ohw:], out[n*p.OutC*ohw:], p.OutC, ohw)
			}
			exact := BlockedFast()
			for i := range want {
				g, e := got[i], want[i]
				if exact && g != e || !exact && math.Abs(float64(g-e)) > 1e-4*(1+math.Abs(float64(e))) {
					t.Fatalf("%s %+v act %d: output %d = %v, NCHW %v", path, p, act, i, g, e)
				}
			}
		})
	})
}
