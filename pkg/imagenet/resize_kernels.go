package imagenet

// Unrolled inner loops of the Resizer's passes, one per tap count (the
// horizontal pass's fixed, zero-padded count; the vertical pass's count for
// the row). Written out because Go neither unrolls nor vectorizes; each
// sums in int32 exactly as Pillow's loops do (integer addition is
// associative, so the order of the terms does not matter). The "NC"
// variants skip clip8's clamping, for plans whose sums provably stay in
// [0, 256<<precisionBits) (see sumsFitByte). The functions were written
// out by a short script; edit both variants of a kernel alike. With AVX2
// the passes run the kernels of resize_amd64.s instead, which must give
// the same bytes (resize_simd_test.go compares them).

const half = int32(1 << (precisionBits - 1))

func hrow2(o, row []byte, off []int, w []int32) {
	w = w[:2*len(off)]
	o = o[:3*len(off)]
	for i, x := range off {
		p := row[x : x+6 : x+6]
		k := w[2*i : 2*i+2 : 2*i+2]
		k0, k1 := k[0], k[1]
		s0 := half + int32(p[0])*k0 + int32(p[3])*k1
		s1 := half + int32(p[1])*k0 + int32(p[4])*k1
		s2 := half + int32(p[2])*k0 + int32(p[5])*k1
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = clip8(s0), clip8(s1), clip8(s2)
	}
}

func hrow3(o, row []byte, off []int, w []int32) {
	w = w[:3*len(off)]
	o = o[:3*len(off)]
	for i, x := range off {
		p := row[x : x+9 : x+9]
		k := w[3*i : 3*i+3 : 3*i+3]
		k0, k1, k2 := k[0], k[1], k[2]
		s0 := half + int32(p[0])*k0 + int32(p[3])*k1 + int32(p[6])*k2
		s1 := half + int32(p[1])*k0 + int32(p[4])*k1 + int32(p[7])*k2
		s2 := half + int32(p[2])*k0 + int32(p[5])*k1 + int32(p[8])*k2
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = clip8(s0), clip8(s1), clip8(s2)
	}
}

func hrow4(o, row []byte, off []int, w []int32) {
	w = w[:4*len(off)]
	o = o[:3*len(off)]
	for i, x := range off {
		p := row[x : x+12 : x+12]
		k := w[4*i : 4*i+4 : 4*i+4]
		k0, k1, k2, k3 := k[0], k[1], k[2], k[3]
		s0 := half + int32(p[0])*k0 + int32(p[3])*k1 + int32(p[6])*k2 + int32(p[9])*k3
		s1 := half + int32(p[1])*k0 + int32(p[4])*k1 + int32(p[7])*k2 + int32(p[10])*k3
		s2 := half + int32(p[2])*k0 + int32(p[5])*k1 + int32(p[8])*k2 + int32(p[11])*k3
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = clip8(s0), clip8(s1), clip8(s2)
	}
}

func hrow5(o, row []byte, off []int, w []int32) {
	w = w[:5*len(off)]
	o = o[:3*len(off)]
	for i, x := range off {
		p := row[x : x+15 : x+15]
		k := w[5*i : 5*i+5 : 5*i+5]
		k0, k1, k2, k3, k4 := k[0], k[1], k[2], k[3], k[4]
		s0 := half + int32(p[0])*k0 + int32(p[3])*k1 + int32(p[6])*k2 + int32(p[9])*k3 + int32(p[12])*k4
		s1 := half + int32(p[1])*k0 + int32(p[4])*k1 + int32(p[7])*k2 + int32(p[10])*k3 + int32(p[13])*k4
		s2 := half + int32(p[2])*k0 + int32(p[5])*k1 + int32(p[8])*k2 + int32(p[11])*k3 + int32(p[14])*k4
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = clip8(s0), clip8(s1), clip8(s2)
	}
}

func hrow6(o, row []byte, off []int, w []int32) {
	w = w[:6*len(off)]
	o = o[:3*len(off)]
	for i, x := range off {
		p := row[x : x+18 : x+18]
		k := w[6*i : 6*i+6 : 6*i+6]
		k0, k1, k2, k3, k4, k5 := k[0], k[1], k[2], k[3], k[4], k[5]
		s0 := half + int32(p[0])*k0 + int32(p[3])*k1 + int32(p[6])*k2 + int32(p[9])*k3 + int32(p[12])*k4 + int32(p[15])*k5
		s1 := half + int32(p[1])*k0 + int32(p[4])*k1 + int32(p[7])*k2 + int32(p[10])*k3 + int32(p[13])*k4 + int32(p[16])*k5
		s2 := half + int32(p[2])*k0 + int32(p[5])*k1 + int32(p[8])*k2 + int32(p[11])*k3 + int32(p[14])*k4 + int32(p[17])*k5
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = clip8(s0), clip8(s1), clip8(s2)
	}
}

func vrow1(o, r0 []byte, w0 int32) {
	r0 = r0[:len(o)]
	for i := range o {
		o[i] = clip8((half + int32(r0[i])*w0))
	}
}

func vrow2(o, r0, r1 []byte, w0, w1 int32) {
	r0 = r0[:len(o)]
	r1 = r1[:len(o)]
	for i := range o {
		o[i] = clip8((half + int32(r0[i])*w0 + int32(r1[i])*w1))
	}
}

func vrow3(o, r0, r1, r2 []byte, w0, w1, w2 int32) {
	r0 = r0[:len(o)]
	r1 = r1[:len(o)]
	r2 = r2[:len(o)]
	for i := range o {
		o[i] = clip8((half + int32(r0[i])*w0 + int32(r1[i])*w1 + int32(r2[i])*w2))
	}
}

func vrow4(o, r0, r1, r2, r3 []byte, w0, w1, w2, w3 int32) {
	r0 = r0[:len(o)]
	r1 = r1[:len(o)]
	r2 = r2[:len(o)]
	r3 = r3[:len(o)]
	for i := range o {
		o[i] = clip8((half + int32(r0[i])*w0 + int32(r1[i])*w1 + int32(r2[i])*w2 + int32(r3[i])*w3))
	}
}

func hrow2NC(o, row []byte, off []int, w []int32) {
	w = w[:2*len(off)]
	o = o[:3*len(off)]
	for i, x := range off {
		p := row[x : x+6 : x+6]
		k := w[2*i : 2*i+2 : 2*i+2]
		k0, k1 := k[0], k[1]
		s0 := half + int32(p[0])*k0 + int32(p[3])*k1
		s1 := half + int32(p[1])*k0 + int32(p[4])*k1
		s2 := half + int32(p[2])*k0 + int32(p[5])*k1
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = byte(s0>>precisionBits), byte(s1>>precisionBits), byte(s2>>precisionBits)
	}
}

func hrow3NC(o, row []byte, off []int, w []int32) {
	w = w[:3*len(off)]
	o = o[:3*len(off)]
	for i, x := range off {
		p := row[x : x+9 : x+9]
		k := w[3*i : 3*i+3 : 3*i+3]
		k0, k1, k2 := k[0], k[1], k[2]
		s0 := half + int32(p[0])*k0 + int32(p[3])*k1 + int32(p[6])*k2
		s1 := half + int32(p[1])*k0 + int32(p[4])*k1 + int32(p[7])*k2
		s2 := half + int32(p[2])*k0 + int32(p[5])*k1 + int32(p[8])*k2
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = byte(s0>>precisionBits), byte(s1>>precisionBits), byte(s2>>precisionBits)
	}
}

func hrow4NC(o, row []byte, off []int, w []int32) {
	w = w[:4*len(off)]
	o = o[:3*len(off)]
	for i, x := range off {
		p := row[x : x+12 : x+12]
		k := w[4*i : 4*i+4 : 4*i+4]
		k0, k1, k2, k3 := k[0], k[1], k[2], k[3]
		s0 := half + int32(p[0])*k0 + int32(p[3])*k1 + int32(p[6])*k2 + int32(p[9])*k3
		s1 := half + int32(p[1])*k0 + int32(p[4])*k1 + int32(p[7])*k2 + int32(p[10])*k3
		s2 := half + int32(p[2])*k0 + int32(p[5])*k1 + int32(p[8])*k2 + int32(p[11])*k3
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = byte(s0>>precisionBits), byte(s1>>precisionBits), byte(s2>>precisionBits)
	}
}

func hrow5NC(o, row []byte, off []int, w []int32) {
	w = w[:5*len(off)]
	o = o[:3*len(off)]
	for i, x := range off {
		p := row[x : x+15 : x+15]
		k := w[5*i : 5*i+5 : 5*i+5]
		k0, k1, k2, k3, k4 := k[0], k[1], k[2], k[3], k[4]
		s0 := half + int32(p[0])*k0 + int32(p[3])*k1 + int32(p[6])*k2 + int32(p[9])*k3 + int32(p[12])*k4
		s1 := half + int32(p[1])*k0 + int32(p[4])*k1 + int32(p[7])*k2 + int32(p[10])*k3 + int32(p[13])*k4
		s2 := half + int32(p[2])*k0 + int32(p[5])*k1 + int32(p[8])*k2 + int32(p[11])*k3 + int32(p[14])*k4
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = byte(s0>>precisionBits), byte(s1>>precisionBits), byte(s2>>precisionBits)
	}
}

func hrow6NC(o, row []byte, off []int, w []int32) {
	w = w[:6*len(off)]
	o = o[:3*len(off)]
	for i, x := range off {
		p := row[x : x+18 : x+18]
		k := w[6*i : 6*i+6 : 6*i+6]
		k0, k1, k2, k3, k4, k5 := k[0], k[1], k[2], k[3], k[4], k[5]
		s0 := half + int32(p[0])*k0 + int32(p[3])*k1 + int32(p[6])*k2 + int32(p[9])*k3 + int32(p[12])*k4 + int32(p[15])*k5
		s1 := half + int32(p[1])*k0 + int32(p[4])*k1 + int32(p[7])*k2 + int32(p[10])*k3 + int32(p[13])*k4 + int32(p[16])*k5
		s2 := half + int32(p[2])*k0 + int32(p[5])*k1 + int32(p[8])*k2 + int32(p[11])*k3 + int32(p[14])*k4 + int32(p[17])*k5
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = byte(s0>>precisionBits), byte(s1>>precisionBits), byte(s2>>precisionBits)
	}
}

func vrow1NC(o, r0 []byte, w0 int32) {
	r0 = r0[:len(o)]
	for i := range o {
		o[i] = byte((half + int32(r0[i])*w0) >> precisionBits)
	}
}

func vrow2NC(o, r0, r1 []byte, w0, w1 int32) {
	r0 = r0[:len(o)]
	r1 = r1[:len(o)]
	for i := range o {
		o[i] = byte((half + int32(r0[i])*w0 + int32(r1[i])*w1) >> precisionBits)
	}
}

func vrow3NC(o, r0, r1, r2 []byte, w0, w1, w2 int32) {
	r0 = r0[:len(o)]
	r1 = r1[:len(o)]
	r2 = r2[:len(o)]
	for i := range o {
		o[i] = byte((half + int32(r0[i])*w0 + int32(r1[i])*w1 + int32(r2[i])*w2) >> precisionBits)
	}
}

func vrow4NC(o, r0, r1, r2, r3 []byte, w0, w1, w2, w3 int32) {
	r0 = r0[:len(o)]
	r1 = r1[:len(o)]
	r2 = r2[:len(o)]
	r3 = r3[:len(o)]
	for i := range o {
		o[i] = byte((half + int32(r0[i])*w0 + int32(r1[i])*w1 + int32(r2[i])*w2 + int32(r3[i])*w3) >> precisionBits)
	}
}

func hrowN(o, row []byte, off []int, w []int32, taps int) {
	for i, x := range off {
		p := row[x : x+3*taps]
		k := w[taps*i : taps*i+taps]
		s0, s1, s2 := half, half, half
		for j, kj := range k {
			q := p[3*j : 3*j+3 : 3*j+3]
			s0 += int32(q[0]) * kj
			s1 += int32(q[1]) * kj
			s2 += int32(q[2]) * kj
		}
		q := o[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = clip8(s0), clip8(s1), clip8(s2)
	}
}
