package imagenet

// maxHTapsUnrolled is the longest horizontal plan with an unrolled AVX2
// kernel (maxHTaps of _gen); longer ones run hrowNAVX2.
const maxHTapsUnrolled = 8

// hwide is a horizontal plan's weights laid out for the AVX2 kernels
// hrow<t>AVX2: per step of 8 outputs and per pair (i, i+4) of them, per
// tap, the pair's two weights each repeated over four int32 lanes; plans
// longer than maxHTapsUnrolled are padded with zero weights to a multiple
// of 5 taps (taps) for hrowNAVX2. The kernels compute outputs [0, n); the
// last step overlaps the previous one when n is not a multiple of 8 (its
// weights follow those of the whole steps); the outputs from n on, whose
// 16-byte loads would pass the end of the row, run in Go.
type hwide struct {
	n, taps int
	w       []int32
}

// hwideRead is how many bytes from an output's offset hrow<t>AVX2 reads:
// one 16-byte load per five taps, 15 bytes apart.
func hwideRead(taps int) int { return 15*((taps-1)/5) + 16 }

// newHWide returns the AVX2 layout of hp for rows of rowBytes bytes, or
// nil where the kernels do not apply (no AVX2, a single tap, fewer than 8
// outputs whose loads stay inside the row).
func newHWide(hp *hplan, rowBytes int) *hwide {
	if !useAVX2 || hp.taps < 2 {
		return nil
	}
	t := hp.taps
	if t > maxHTapsUnrolled {
		t = (t + 4) / 5 * 5
	}
	n := 0 // off is non-decreasing: the outputs that fit are a prefix
	for n < len(hp.off) && hp.off[n]+hwideRead(t) <= rowBytes {
		n++
	}
	if n < 8 {
		return nil
	}
	whole := n &^ 7
	firsts := make([]int, 0, whole/8+1)
	for s := 0; s < whole; s += 8 {
		firsts = append(firsts, s)
	}
	if whole < n {
		firsts = append(firsts, n-8)
	}
	hw := &hwide{n: n, taps: t, w: make([]int32, 0, len(firsts)*8*t*4)}
	for _, first := range firsts {
		for p := 0; p < 4; p++ {
			for j := 0; j < t; j++ {
				for _, i := range [2]int{first + p, first + p + 4} {
					k := int32(0)
					if j < hp.taps {
						k = hp.w[i*hp.taps+j]
					}
					hw.w = append(hw.w, k, k, k, k)
				}
			}
		}
	}
	return hw
}

// rowAVX2 computes outputs [0, hw.n) of one row of the horizontal pass.
func (hp *hplan) rowAVX2(o, row []byte) {
	hw, t := hp.wide, hp.wide.taps
	_ = row[hp.off[hw.n-1]+hwideRead(t)-1]
	_ = o[3*hw.n-1]
	whole := hw.n &^ 7
	if whole > 0 {
		hrowKernel(t, &o[0], &row[0], &hp.off[0], &hw.w[0], whole)
	}
	if whole < hw.n {
		first := hw.n - 8
		hrowKernel(t, &o[3*first], &row[0], &hp.off[first], &hw.w[whole*4*t], 8)
	}
}

// vrowAVX2 computes one output row o (at least 32 bytes) of the vertical
// pass from the len(k) rows stride bytes apart that start at in[0].
func vrowAVX2(o, in []byte, stride int, k []int32) {
	n := len(o)
	_ = in[(len(k)-1)*stride+n-1]
	m := n &^ 31
	vrowKernel(&o[0], &in[0], stride, &k[0], len(k), m)
	if m < n {
		vrowKernel(&o[n-32], &in[n-32], stride, &k[0], len(k), 32)
	}
}
