package jpeg

// decodeMCUSeqFast is the fast path for sequential Huffman MCUs, used (as
// libjpeg-turbo's decode_mcu_fast is) only without restart intervals and
// when at least 512 bytes per block remain. It refills its bit buffer at
// exactly the points libjpeg-turbo's fast path does (6 bytes whenever 16 or
// fewer bits are left), so the reader state, and hence where a cut-short
// file suspends, is identical. On reaching a marker it returns false with
// the decoder state unchanged, and the MCU is decoded again by the slow,
// marker-aware path.
func (d *decoder) decodeMCUSeqFast(st *scanState, blocks []*[64]int16) bool {
	data := d.data
	pos := d.pos
	buf := d.bbuf
	nbits := d.nbits
	lastDC := st.lastDC
	for b, blk := range blocks {
		ci := st.membership[b]
		// DC.
		if nbits <= 16 {
			if pos+13 > len(data) {
				return false
			}
			for i := 0; i < 6; i++ {
				c0 := data[pos]
				pos++
				buf = buf<<8 | uint64(c0)
				nbits += 8
				if c0 == 0xFF {
					if data[pos] != 0 {
						return false
					}
					pos++
				}
			}
		}
		dc := st.dc[ci]
		s, n := dc.decodeFast(buf, nbits)
		nbits -= n
		if s != 0 {
			if nbits <= 16 {
				if pos+13 > len(data) {
					return false
				}
				for i := 0; i < 6; i++ {
					c0 := data[pos]
					pos++
					buf = buf<<8 | uint64(c0)
					nbits += 8
					if c0 == 0xFF {
						if data[pos] != 0 {
							return false
						}
						pos++
					}
				}
			}
			nbits -= s
			r := int32(buf>>uint(nbits)) & (1<<uint(s) - 1)
			lastDC[ci] += extend(r, s)
		}
		blk[0] = int16(lastDC[ci])
		// AC.
		ac := st.ac[ci]
		nz := false
		for k := 1; k < 64; k++ {
			if nbits <= 16 {
				if pos+13 > len(data) {
					return false
				}
				for i := 0; i < 6; i++ {
					c0 := data[pos]
					pos++
					buf = buf<<8 | uint64(c0)
					nbits += 8
					if c0 == 0xFF {
						if data[pos] != 0 {
							return false
						}
						pos++
					}
				}
			}
			rs, n := ac.decodeFast(buf, nbits)
			nbits -= n
			r, s := rs>>4, rs&15
			if s != 0 {
				k += r
				if nbits <= 16 {
					if pos+13 > len(data) {
						return false
					}
					for i := 0; i < 6; i++ {
						c0 := data[pos]
						pos++
						buf = buf<<8 | uint64(c0)
						nbits += 8
						if c0 == 0xFF {
							if data[pos] != 0 {
								return false
							}
							pos++
						}
					}
				}
				nbits -= s
				v := int32(buf>>uint(nbits)) & (1<<uint(s) - 1)
				blk[zigzag[k&127]] = int16(extend(v, s))
				nz = true
			} else {
				if r != 15 {
					break
				}
				k += 15
			}
		}
		st.acNZ[b] = nz
	}
	d.pos = pos
	d.bbuf = buf
	d.nbits = nbits
	st.lastDC = lastDC
	return true
}

// decodeFast decodes one symbol from the top of buf (nbits > 16 buffered
// bits), returning it and its code length. Invalid codes give symbol 0
// after 17 bits, as libjpeg does.
func (t *huffTable) decodeFast(buf uint64, nbits int) (int, int) {
	e := t.fast[(buf>>uint(nbits-fastBits))&(1<<fastBits-1)]
	if e != 0 {
		return int(e >> 4), int(e & 15)
	}
	l := fastBits + 1
	code := int32(buf>>uint(nbits-l)) & (1<<uint(l) - 1)
	for code > t.maxcode[l] {
		l++
		code = int32(buf>>uint(nbits-l)) & (1<<uint(l) - 1)
		if l == 17 {
			break
		}
	}
	if l > 16 {
		return 0, 17
	}
	return int(t.vals[(code+t.valoffset[l])&0xFF]), l
}
