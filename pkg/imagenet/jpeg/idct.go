package jpeg

import "encoding/binary"

// The accurate integer inverse DCT of libjpeg (jidctint.c, JDCT_ISLOW):
// the Loeffler-Ligtenberg-Moschytz 1-D algorithm with 13-bit constants,
// applied to columns (keeping PASS1_BITS extra bits of precision in an int
// workspace) and then to rows. Arithmetic is done in int64 like libjpeg's
// JLONG on LP64, workspace values are truncated to int32 like its int
// workspace, and each output is masked to 10 bits and mapped through the
// range-limit table (see rangeLimit), which is what makes overflowing
// values from corrupt data wrap exactly as libjpeg's C code does.

const (
	constBits = 13
	pass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// rangeLimit maps a 10-bit IDCT output (masked with 0x3FF) to a sample:
// the value is read as a signed 10-bit number, 128 is added and the result
// clamped to 0..255 (libjpeg's IDCT_range_limit table).
var rangeLimit [1024]byte

func init() {
	for i := range rangeLimit {
		v := i
		if v >= 512 {
			v -= 1024
		}
		v += 128
		if v < 0 {
			v = 0
		} else if v > 255 {
			v = 255
		}
		rangeLimit[i] = byte(v)
	}
}

// idctBound is the bound on the dequantized coefficients within which
// idctAVX2's 32-bit lanes give exactly the bytes of the int64 Go code.
// Each pass computes, per output, a linear form of its eight inputs
// (wrapping adds, subtracts and multiplies by constants: exact modulo 2^32
// whatever the intermediates do) plus a rounding constant, and shifts it.
//
//   - Pass 2 keeps bits 18..27 of that sum (the >>18 and the 0x3FF mask),
//     which only depend on it modulo 2^32: 32-bit lanes are always exact.
//   - Pass 1 keeps bits 11..42 (>>11, then the truncation to int32), which
//     32-bit lanes get right only when the sum fits in int32:
//     |form| + 2^10 <= 2^31-1. The largest sum of the absolute
//     coefficients of a form over the eight outputs is idctFormL1 = 61214
//     (output 2, whose coefficients for x0..x7 are 8192, 6437, -4433,
//     -11362, -8192, 2261, 10704, 9633), so it is enough that every
//     dequantized coefficient has |blk[i]*q[i]| <= (2^31-1-2^10)/61214 =
//     35081.
//
// Real photos stay far inside (8-bit samples give dequantized values up to
// about 2^11); idctAVX2 checks the bound and declines other blocks, which
// then take the Go path. TestIDCTBound re-derives the numbers from the Go
// pass 1.
const (
	idctFormL1 = 61214
	idctBound  = (1<<31 - 1 - 1<<10) / idctFormL1
)

// idct transforms the natural-order coefficients blk, dequantized by q,
// into an 8x8 block of samples at out[off:], rows stride bytes apart.
func idct(blk *[64]int16, q *[64]int32, out []byte, off, stride int) {
	if useAVX2 {
		_ = out[off+7*stride+7]
		if idctAVX2(blk, q, &out[off], stride) {
			return
		}
	}
	idctGo(blk, q, out, off, stride)
}

func idctGo(blk *[64]int16, q *[64]int32, out []byte, off, stride int) {
	var ws [64]int32
	idctPass1(blk, q, &ws)
	idctPass2(&ws, out, off, stride)
}

// idctPass1 is the column pass: dequantized columns of blk to the
// workspace, with PASS1_BITS extra bits.
func idctPass1(blk *[64]int16, q *[64]int32, ws *[64]int32) {
	for c := 0; c < 8; c++ {
		if blk[8+c] == 0 && blk[16+c] == 0 && blk[24+c] == 0 && blk[32+c] == 0 &&
			blk[40+c] == 0 && blk[48+c] == 0 && blk[56+c] == 0 {
			dc := int32(int64(int32(blk[c])*q[c]) << pass1Bits)
			ws[c], ws[8+c], ws[16+c], ws[24+c] = dc, dc, dc, dc
			ws[32+c], ws[40+c], ws[48+c], ws[56+c] = dc, dc, dc, dc
			continue
		}
		// Even part.
		z2 := int64(int32(blk[16+c]) * q[16+c])
		z3 := int64(int32(blk[48+c]) * q[48+c])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		z2 = int64(int32(blk[c]) * q[c])
		z3 = int64(int32(blk[32+c]) * q[32+c])
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2
		// Odd part.
		t0 := int64(int32(blk[56+c]) * q[56+c])
		t1 := int64(int32(blk[40+c]) * q[40+c])
		t2 := int64(int32(blk[24+c]) * q[24+c])
		t3 := int64(int32(blk[8+c]) * q[8+c])
		z1 = t0 + t3
		z2 = t1 + t2
		z3 = t0 + t2
		z4 := t1 + t3
		z5 := (z3 + z4) * fix1_175875602
		t0 *= fix0_298631336
		t1 *= fix2_053119869
		t2 *= fix3_072711026
		t3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 *= -fix1_961570560
		z4 *= -fix0_390180644
		z3 += z5
		z4 += z5
		t0 += z1 + z3
		t1 += z2 + z4
		t2 += z2 + z3
		t3 += z1 + z4
		const sh = constBits - pass1Bits
		const rnd = 1 << (sh - 1)
		ws[c] = int32((tmp10 + t3 + rnd) >> sh)
		ws[56+c] = int32((tmp10 - t3 + rnd) >> sh)
		ws[8+c] = int32((tmp11 + t2 + rnd) >> sh)
		ws[48+c] = int32((tmp11 - t2 + rnd) >> sh)
		ws[16+c] = int32((tmp12 + t1 + rnd) >> sh)
		ws[40+c] = int32((tmp12 - t1 + rnd) >> sh)
		ws[24+c] = int32((tmp13 + t0 + rnd) >> sh)
		ws[32+c] = int32((tmp13 - t0 + rnd) >> sh)
	}
}

// idctPass2 is the row pass: workspace rows to samples at out[off:].
func idctPass2(ws *[64]int32, out []byte, off, stride int) {
	for r := 0; r < 8; r++ {
		w := ws[r*8 : r*8+8 : r*8+8]
		o := (*[8]byte)(out[off+r*stride:])
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := rangeLimit[((int64(w[0])+(1<<(pass1Bits+2)))>>(pass1Bits+3))&0x3FF]
			o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = v, v, v, v, v, v, v, v
			continue
		}
		z2 := int64(w[2])
		z3 := int64(w[6])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		tmp0 := (int64(w[0]) + int64(w[4])) << constBits
		tmp1 := (int64(w[0]) - int64(w[4])) << constBits
		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2
		t0 := int64(w[7])
		t1 := int64(w[5])
		t2 := int64(w[3])
		t3 := int64(w[1])
		z1 = t0 + t3
		z2 = t1 + t2
		z3 = t0 + t2
		z4 := t1 + t3
		z5 := (z3 + z4) * fix1_175875602
		t0 *= fix0_298631336
		t1 *= fix2_053119869
		t2 *= fix3_072711026
		t3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 *= -fix1_961570560
		z4 *= -fix0_390180644
		z3 += z5
		z4 += z5
		t0 += z1 + z3
		t1 += z2 + z4
		t2 += z2 + z3
		t3 += z1 + z4
		const sh = constBits + pass1Bits + 3
		const rnd = 1 << (sh - 1)
		o[0] = rangeLimit[((tmp10+t3+rnd)>>sh)&0x3FF]
		o[7] = rangeLimit[((tmp10-t3+rnd)>>sh)&0x3FF]
		o[1] = rangeLimit[((tmp11+t2+rnd)>>sh)&0x3FF]
		o[6] = rangeLimit[((tmp11-t2+rnd)>>sh)&0x3FF]
		o[2] = rangeLimit[((tmp12+t1+rnd)>>sh)&0x3FF]
		o[5] = rangeLimit[((tmp12-t1+rnd)>>sh)&0x3FF]
		o[3] = rangeLimit[((tmp13+t0+rnd)>>sh)&0x3FF]
		o[4] = rangeLimit[((tmp13-t0+rnd)>>sh)&0x3FF]
	}
}

// idctBlock is idct with a shortcut for blocks whose AC coefficients are
// all zero (acNZ false): every sample is then the value both passes'
// zero-AC shortcuts of libjpeg produce.
func idctBlock(blk *[64]int16, acNZ bool, q *[64]int32, out []byte, off, stride int) {
	if acNZ {
		idct(blk, q, out, off, stride)
		return
	}
	dc := int32(int64(int32(blk[0])*q[0]) << pass1Bits)
	v := rangeLimit[((int64(dc)+(1<<(pass1Bits+2)))>>(pass1Bits+3))&0x3FF]
	fill := uint64(v) * 0x0101010101010101 // one 8-byte store a row
	for r := 0; r < 8; r++ {
		binary.LittleEndian.PutUint64(out[off+r*stride:], fill)
	}
}
