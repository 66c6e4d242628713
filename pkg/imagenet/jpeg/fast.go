package jpeg

import "encoding/binary"

// decodeMCUSeqFast is the fast path for sequential Huffman MCUs, used (as
// libjpeg-turbo's decode_mcu_fast is) only without restart intervals and
// when at least 512 bytes per block remain. On reaching a marker it returns
// false with the decoder state unchanged, and the MCU is decoded again by
// the slow, marker-aware path.
//
// The reader state after an MCU is exactly libjpeg-turbo's, so the switch
// to the slow path, and where a cut-short file suspends, are the same:
// libjpeg-turbo refills 6 bytes whenever 16 or fewer bits are left before
// each Huffman code and before each code's magnitude bits. A symbol found
// in a combined table (see buildComb) takes its code and magnitude bits at
// once, and the check libjpeg-turbo makes between them is left to the
// next check, before the next code (or, if none follows, one made at the
// end of the block). That leaves the same state. If 16 or fewer bits were
// left before the magnitude bits, libjpeg-turbo refilled there and its
// check before the next code does nothing; here fewer bits are left at
// that check, which makes the same refill of 6 bytes. Otherwise neither
// refills between the codes and both make the same check before the next.
func (d *decoder) decodeMCUSeqFast(st *scanState, blocks []*[64]int16) bool {
	data := d.data
	pos := d.pos
	nbits := d.nbits
	// Here the buffered bits are the top nbits bits of buf, the rest zero:
	// the next code is then buf's top bits, found with a fixed shift.
	buf := d.bbuf << uint(64-nbits)
	lastDC := st.lastDC
	ok := true
	for b, blk := range blocks {
		ci := st.membership[b] & (maxCompsInScan - 1)
		// DC.
		if nbits <= 16 {
			if pos, buf, nbits, ok = refill(data, pos, buf, nbits); !ok {
				return false
			}
		}
		dc := st.dc[ci]
		if e := dc.comb[buf>>(64-combBits)]; e&combLen != 0 {
			buf <<= uint(e & combLen)
			nbits -= int(e & combLen)
			lastDC[ci] += e >> 16
		} else {
			s, n := dc.decodeCode(e, buf)
			buf <<= uint(n)
			nbits -= n
			if s != 0 {
				if nbits <= 16 {
					if pos, buf, nbits, ok = refill(data, pos, buf, nbits); !ok {
						return false
					}
				}
				lastDC[ci] += extend(int32(buf>>uint(64-s)), s)
				buf <<= uint(s)
				nbits -= s
			}
		}
		blk[0] = int16(lastDC[ci])
		// AC.
		ac := st.ac[ci]
		nz := int32(0)
		pend := 0 // magnitude bits taken with the last code, not yet checked
		k := 1
		for ; k < 64; k++ {
			if nbits <= 16 {
				if pos, buf, nbits, ok = refill(data, pos, buf, nbits); !ok {
					return false
				}
			}
			e := ac.comb[buf>>(64-combBits)]
			if e&combLen != 0 {
				buf <<= uint(e & combLen)
				nbits -= int(e & combLen)
				if e&combEOB != 0 {
					break
				}
				k += int(e>>combRunShift) & 15
				blk[zigzag[k&127]&63] = int16(e >> 16)
				nz |= e >> 16
				pend = int(e>>combMagShift) & 15
				continue
			}
			rs, n := ac.decodeCode(e, buf)
			buf <<= uint(n)
			nbits -= n
			r, s := rs>>4, rs&15
			pend = 0
			if s != 0 {
				k += r
				if nbits <= 16 {
					if pos, buf, nbits, ok = refill(data, pos, buf, nbits); !ok {
						return false
					}
				}
				blk[zigzag[k&127]&63] = int16(extend(int32(buf>>uint(64-s)), s))
				buf <<= uint(s)
				nbits -= s
				nz = 1
			} else {
				if r != 15 {
					break
				}
				k += 15
			}
		}
		if k >= 64 && pend != 0 && nbits+pend <= 16 {
			// The block ended with a combined symbol: make the check
			// libjpeg-turbo makes before its magnitude bits.
			if pos, buf, nbits, ok = refill(data, pos, buf, nbits); !ok {
				return false
			}
		}
		st.acNZ[b] = nz != 0
	}
	d.pos = pos
	d.bbuf = buf >> uint(64-nbits)
	d.nbits = nbits
	st.lastDC = lastDC
	return true
}

// refill is libjpeg-turbo's FILL_BIT_BUFFER_FAST: it appends the next 6
// bytes of entropy-coded data (after byte unstuffing) to the nbits <= 16
// bits at the top of buf. It reports false at a marker, and when fewer
// than 13 bytes remain. Six bytes with no 0xFF among them are appended
// with one load.
func refill(data []byte, pos int, buf uint64, nbits int) (int, uint64, int, bool) {
	if pos < 0 || pos+13 > len(data) {
		return pos, buf, nbits, false
	}
	w := binary.BigEndian.Uint64(data[pos:])
	// A byte of w is 0xFF exactly when that byte of ^w is zero; the high
	// bit of each byte of nonzero is set when that byte of ^w is nonzero.
	x := ^w
	nonzero := ((x & 0x7F7F7F7F7F7F7F7F) + 0x7F7F7F7F7F7F7F7F | x) & 0x8080808080800000
	if nonzero == 0x8080808080800000 {
		return pos + 6, buf | w>>16<<(uint(16-nbits)&63), nbits + 48, true
	}
	return refillBytes(data, pos, buf, nbits)
}

// refillBytes is refill one byte at a time, for data with 0xFF bytes.
func refillBytes(data []byte, pos int, buf uint64, nbits int) (int, uint64, int, bool) {
	for i := 0; i < 6; i++ {
		c := data[pos]
		pos++
		buf |= uint64(c) << uint(56-nbits)
		nbits += 8
		if c == 0xFF {
			if data[pos] != 0 {
				return pos, buf, nbits, false
			}
			pos++
		}
	}
	return pos, buf, nbits, true
}

// decodeCode decodes a symbol whose magnitude bits are not in the
// combined table, e being its entry for the top combBits of buf (which
// holds at least 17 bits), returning it and its code length. Invalid codes
// give symbol 0 after 17 bits, as libjpeg does.
func (t *huffTable) decodeCode(e int32, buf uint64) (int, int) {
	if e != 0 {
		return int(e>>combSymShift) & 0xFF, int(e >> 16)
	}
	l := combBits + 1
	code := int32(buf >> uint(64-l))
	for code > t.maxcode[l] {
		l++
		code = int32(buf >> uint(64-l))
		if l == 17 {
			break
		}
	}
	if l > 16 {
		return 0, 17
	}
	return int(t.vals[(code+t.valoffset[l])&0xFF]), l
}

// Combined table entries (buildComb) of a whole symbol: the bits taken
// (code and magnitude bits, 1..combBits), an end-of-block flag, the zero
// run, the magnitude bit count and, in the top 16 bits, the coefficient.
// Entries of a code whose magnitude bits do not fit have 0 in the low 5
// bits, the symbol at combSymShift and the code length in the top 16
// bits; entries under codes longer than combBits are 0.
const (
	combBits     = 10
	combLen      = 0x1F
	combEOB      = 0x80
	combRunShift = 8
	combMagShift = 12
	combSymShift = 8
)

// buildComb fills the combined table: for every code of l <= combBits bits
// whose symbol's magnitude bits s fit with it (l+s <= combBits), the
// entries starting with the code and each s-bit magnitude give the
// symbol's whole effect. DC symbols give the difference; AC symbols the
// run and the coefficient, or end of block (size 0, run other than 15), or
// a run of 16 zeros (ZRL, run 15 and coefficient 0). The entries of the
// other codes of at most combBits bits give the symbol and code length.
func (t *huffTable) buildComb(s *huffSpec, huffcode []int32, isDC bool) {
	p := 0
	for l := 1; l <= combBits; l++ {
		for i := 0; i < s.bits[l]; i++ {
			sym := s.vals[p]
			code := int(huffcode[p])
			p++
			mag, run := int(sym), 0
			if !isDC {
				mag, run = int(sym&15), int(sym>>4)
			}
			if l+mag > combBits {
				look := code << uint(combBits-l)
				for n := 0; n < 1<<uint(combBits-l); n++ {
					t.comb[look+n] = int32(sym)<<combSymShift | int32(l)<<16
				}
				continue
			}
			for m := 0; m < 1<<uint(mag); m++ {
				e := int32(l + mag)
				switch {
				case mag != 0:
					e |= int32(run)<<combRunShift | int32(mag)<<combMagShift | extend(int32(m), mag)<<16
				case !isDC && run != 15:
					e |= combEOB
				case !isDC:
					e |= 15 << combRunShift
				}
				look := (code<<uint(mag) | m) << uint(combBits-l-mag)
				for n := 0; n < 1<<uint(combBits-l-mag); n++ {
					t.comb[look+n] = e
				}
			}
		}
	}
}
