package jpeg

// huffSpec is a Huffman table as stored in a DHT segment (T.81 B.2.4.2).
type huffSpec struct {
	bits  [17]int // bits[l] = number of codes of length l
	vals  [256]byte
	count int
}

// huffTable is the decoding form of a huffSpec (T.81 F.2.2.3, with an 8-bit
// lookahead table as libjpeg uses).
type huffTable struct {
	maxcode   [18]int32 // largest code of length l, -1 if none; maxcode[17] is a sentinel
	valoffset [18]int32
	vals      [256]byte
	// lookup[b] for the next 8 bits b: length<<8 | value, or 9<<8 when the
	// code is longer than 8 bits.
	lookup [256]uint16
	// comb[b] for the next combBits bits: see buildComb.
	comb [1 << combBits]int32
}

// build derives the decoding tables, validating the spec as libjpeg's
// jpeg_make_d_derived_tbl does.
func (s *huffSpec) build(isDC bool) (*huffTable, error) {
	t := &huffTable{vals: s.vals}
	var huffsize [257]int
	var huffcode [257]int32
	p := 0
	for l := 1; l <= 16; l++ {
		for i := 0; i < s.bits[l]; i++ {
			huffsize[p] = l
			p++
		}
	}
	huffsize[p] = 0
	numsymbols := p
	code := int32(0)
	si := huffsize[0]
	p = 0
	for huffsize[p] != 0 {
		for huffsize[p] == si {
			huffcode[p] = code
			p++
			code++
		}
		if code >= int32(1)<<si {
			return nil, FormatError("bad Huffman table")
		}
		code <<= 1
		si++
	}
	p = 0
	for l := 1; l <= 16; l++ {
		if s.bits[l] != 0 {
			t.valoffset[l] = int32(p) - huffcode[p]
			p += s.bits[l]
			t.maxcode[l] = huffcode[p-1]
		} else {
			t.maxcode[l] = -1
		}
	}
	t.valoffset[17] = 0
	t.maxcode[17] = 0xFFFFF
	for i := range t.lookup {
		t.lookup[i] = 9 << 8
	}
	p = 0
	for l := 1; l <= 8; l++ {
		for i := 0; i < s.bits[l]; i++ {
			look := int(huffcode[p]) << (8 - l)
			for n := 0; n < 1<<(8-l); n++ {
				t.lookup[look+n] = uint16(l<<8) | uint16(s.vals[p])
			}
			p++
		}
	}
	if isDC {
		for i := 0; i < numsymbols; i++ {
			if s.vals[i] > 15 {
				return nil, FormatError("bad Huffman table")
			}
		}
	}
	t.buildComb(s, huffcode[:], isDC)
	return t, nil
}

// scanTables sets the DC and/or AC decoding tables of the scan's
// components, building each table slot once (components share slots,
// usually the two chroma components).
func (d *decoder) scanTables(st *scanState, needDC, needAC bool) error {
	var built [2][numHuffTables]*huffTable
	get := func(class int, specs *[numHuffTables]*huffSpec, slot int) (*huffTable, error) {
		if slot >= numHuffTables || specs[slot] == nil {
			return nil, FormatError("missing Huffman table")
		}
		if built[class][slot] == nil {
			t, err := specs[slot].build(class == 0)
			if err != nil {
				return nil, err
			}
			built[class][slot] = t
		}
		return built[class][slot], nil
	}
	for i, c := range st.comps {
		var err error
		if needDC {
			if st.dc[i], err = get(0, &d.dcTables, c.dcTbl); err != nil {
				return err
			}
		}
		if needAC {
			if st.ac[i], err = get(1, &d.acTables, c.acTbl); err != nil {
				return err
			}
		}
	}
	return nil
}

// Standard Huffman tables of T.81 Annex K.3, which libjpeg-turbo installs
// for table slots 0 and 1 when a file does not define them.
var stdDCLuma = huffSpecFrom([16]int{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0},
	[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
var stdDCChroma = huffSpecFrom([16]int{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
	[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
var stdACLuma = huffSpecFrom([16]int{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d},
	acValues([]byte{
		0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
		0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
		0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
		0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a,
	}, []byte{0x4, 0x5, 0x6, 0x7, 0x8}, []byte{0x9, 0xa, 0xb, 0xc, 0xd}, 0xe1, 0xf1))
var stdACChroma = huffSpecFrom([16]int{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77},
	acValues([]byte{
		0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
		0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
		0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
		0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a,
	}, []byte{0x4, 0x5, 0x6, 0x7}, []byte{0x8, 0x9, 0xa, 0xb, 0xc, 0xd}, 0xe2, 0xf2))

// acValues completes the standard AC symbol lists: after the explicit
// prefix, each run r in rowsFrom3 lists sizes 3..10, each run in rowsFrom2
// lists sizes 2..10, then run 14 from its first given symbol and run 15
// from its first given symbol up to size 10.
func acValues(prefix, rowsFrom3, rowsFrom2 []byte, e, f byte) []byte {
	v := append([]byte(nil), prefix...)
	for _, r := range rowsFrom3 {
		for s := byte(3); s <= 10; s++ {
			v = append(v, r<<4|s)
		}
	}
	for _, r := range rowsFrom2 {
		for s := byte(2); s <= 10; s++ {
			v = append(v, r<<4|s)
		}
	}
	for x := e; x <= 0xea; x++ {
		v = append(v, x)
	}
	for x := f; x <= 0xfa; x++ {
		v = append(v, x)
	}
	return v
}

func huffSpecFrom(bits [16]int, vals []byte) *huffSpec {
	s := &huffSpec{}
	n := 0
	for i, b := range bits {
		s.bits[i+1] = b
		n += b
	}
	if n != len(vals) {
		panic("jpeg: bad built-in Huffman table")
	}
	copy(s.vals[:], vals)
	s.count = n
	return s
}

// ---- bit reading, following libjpeg's jpeg_fill_bit_buffer exactly ----

const minGetBits = 57 // BIT_BUF_SIZE - 7 with a 64-bit buffer

// fill reads bytes until at least 57 bits are buffered. It returns false
// when the data ends first (libjpeg suspends there). After a marker, it
// supplies zero bits when need exceeds what is buffered, and notes that the
// segment ran out (libjpeg's insufficient_data).
func (d *decoder) fill(need int) bool {
	if d.unread == 0 {
		data := d.data
		pos := d.pos
		for d.nbits < minGetBits {
			if pos >= len(data) {
				d.pos = pos
				return false
			}
			c := data[pos]
			pos++
			if c == 0xFF {
				for {
					if pos >= len(data) {
						d.pos = pos
						return false
					}
					c = data[pos]
					pos++
					if c != 0xFF {
						break
					}
				}
				if c != 0 {
					d.unread = c
					d.pos = pos
					goto noMore
				}
				c = 0xFF
			}
			d.bbuf = d.bbuf<<8 | uint64(c)
			d.nbits += 8
		}
		d.pos = pos
		return true
	}
noMore:
	if need > d.nbits {
		d.insufficient = true
		d.warn(warnHitMarker)
		d.bbuf <<= uint(minGetBits - d.nbits)
		d.nbits = minGetBits
	}
	return true
}

// getBits returns the next n bits (n <= 16), or false on suspension.
func (d *decoder) getBits(n int) (int32, bool) {
	if d.nbits < n {
		if !d.fill(n) {
			return 0, false
		}
	}
	d.nbits -= n
	return int32(d.bbuf>>uint(d.nbits)) & (1<<uint(n) - 1), true
}

// extend is T.81's EXTEND (libjpeg's HUFF_EXTEND) for 1 <= s <= 15.
func extend(r int32, s int) int32 {
	if r < 1<<uint(s-1) {
		return r + (-1 << uint(s)) + 1
	}
	return r
}

// decodeHuff decodes one Huffman symbol like libjpeg's HUFF_DECODE.
func (d *decoder) decodeHuff(t *huffTable) (int, bool) {
	if d.nbits < 8 {
		if !d.fill(0) {
			return 0, false
		}
		if d.nbits < 8 {
			return d.decodeHuffSlow(t, 1)
		}
	}
	e := t.lookup[(d.bbuf>>uint(d.nbits-8))&0xFF]
	if nb := int(e >> 8); nb <= 8 {
		d.nbits -= nb
		return int(e & 0xFF), true
	}
	return d.decodeHuffSlow(t, 9)
}

// decodeHuffSlow is libjpeg's jpeg_huff_decode: a code of at least l bits.
func (d *decoder) decodeHuffSlow(t *huffTable, l int) (int, bool) {
	code, ok := d.getBits(l)
	if !ok {
		return 0, false
	}
	for code > t.maxcode[l] {
		if d.nbits < 1 {
			if !d.fill(1) {
				return 0, false
			}
		}
		d.nbits--
		code = code<<1 | int32(d.bbuf>>uint(d.nbits))&1
		l++
	}
	if l > 16 {
		return 0, true // bad code: libjpeg substitutes a zero symbol
	}
	return int(t.vals[(code+t.valoffset[l])&0xFF]), true
}

// processRestartHuff is libjpeg's process_restart for the Huffman decoders.
func (d *decoder) processRestartHuff(st *scanState) bool {
	d.nbits = 0
	if !d.readRestartMarker() {
		return false
	}
	for i := range st.lastDC {
		st.lastDC[i] = 0
	}
	st.eobrun = 0
	st.restartsToGo = d.restartInterval
	if d.unread == 0 {
		d.insufficient = false
	}
	return true
}

// readRestartMarker is libjpeg's read_restart_marker with the default
// jpeg_resync_to_restart recovery. It returns false on suspension.
func (d *decoder) readRestartMarker() bool {
	if d.unread == 0 {
		if d.nextMarker() != nil {
			return false
		}
	}
	desired := d.nextRestart
	if int(d.unread) == mRST0+desired {
		d.unread = 0
	} else {
		for {
			m := int(d.unread)
			action := 1
			switch {
			case m < mSOF0:
				action = 2
			case m < mRST0 || m > mRST7:
				action = 3
			default:
				if m == mRST0+((desired+1)&7) || m == mRST0+((desired+2)&7) {
					action = 3
				} else if m == mRST0+((desired-1)&7) || m == mRST0+((desired-2)&7) {
					action = 2
				} else {
					action = 1
				}
			}
			if action == 1 {
				d.unread = 0
				break
			}
			if action == 3 {
				break
			}
			if d.nextMarker() != nil {
				return false
			}
		}
	}
	d.nextRestart = (d.nextRestart + 1) & 7
	return true
}

// ---- sequential Huffman MCU (libjpeg's decode_mcu_slow) ----

func (d *decoder) decodeMCUSeq(st *scanState, blocks []*[64]int16) bool {
	return d.decodeMCUSeqComb(st, blocks, combBits)
}

// decodeMCUSeqComb is decodeMCUSeq taking a symbol from the combined table
// whenever at least combMin (>= combBits) bits are buffered: its code and
// magnitude bits are then buffered, libjpeg (which looks ahead 8 bits)
// reads no data for it, and it is taken at once. With combMin above 64
// it is libjpeg's decode_mcu_slow symbol by symbol.
func (d *decoder) decodeMCUSeqComb(st *scanState, blocks []*[64]int16, combMin int) bool {
	for b, blk := range blocks {
		ci := st.membership[b]
		dc := st.dc[ci]
		e := int32(0)
		if d.nbits >= combMin {
			e = dc.comb[(d.bbuf>>uint(d.nbits-combBits))&(1<<combBits-1)]
		}
		if e&combLen != 0 {
			d.nbits -= int(e & combLen)
			st.lastDC[ci] += e >> 16
		} else {
			s, ok := d.decodeHuff(dc)
			if !ok {
				return false
			}
			if s != 0 {
				r, ok := d.getBits(s)
				if !ok {
					return false
				}
				st.lastDC[ci] += extend(r, s)
			}
		}
		blk[0] = int16(st.lastDC[ci])
		ac := st.ac[ci]
		for k := 1; k < 64; k++ {
			if d.nbits >= combMin {
				e := ac.comb[(d.bbuf>>uint(d.nbits-combBits))&(1<<combBits-1)]
				if e&combLen != 0 {
					d.nbits -= int(e & combLen)
					if e&combEOB != 0 {
						break
					}
					k += int(e>>combRunShift) & 15
					blk[zigzag[k]] = int16(e >> 16)
					continue
				}
			}
			rs, ok := d.decodeHuff(ac)
			if !ok {
				return false
			}
			r, s := rs>>4, rs&15
			if s != 0 {
				k += r
				v, ok := d.getBits(s)
				if !ok {
					return false
				}
				blk[zigzag[k]] = int16(extend(v, s))
			} else {
				if r != 15 {
					break
				}
				k += 15
			}
		}
	}
	return true
}

// ---- progressive Huffman MCUs (libjpeg's jdphuff.c) ----

func (d *decoder) decodeMCUDCFirst(st *scanState, blocks []*[64]int16) (bool, error) {
	al := uint(st.al)
	for b, blk := range blocks {
		ci := st.membership[b]
		s, ok := d.decodeHuff(st.dc[ci])
		if !ok {
			return false, nil
		}
		var v int32
		if s != 0 {
			r, ok := d.getBits(s)
			if !ok {
				return false, nil
			}
			v = extend(r, s)
		}
		last := st.lastDC[ci]
		if (last >= 0 && v > (1<<31-1)-last) || (last < 0 && v < (-1<<31)-last) {
			return false, FormatError("DC coefficient out of range")
		}
		st.lastDC[ci] = last + v
		blk[0] = int16(uint32(st.lastDC[ci]) << al)
	}
	return true, nil
}

func (d *decoder) decodeMCUDCRefine(st *scanState, blocks []*[64]int16) bool {
	p1 := int16(1) << uint(st.al)
	for _, blk := range blocks {
		bit, ok := d.getBits(1)
		if !ok {
			return false
		}
		if bit != 0 {
			blk[0] |= p1
		}
	}
	return true
}

func (d *decoder) decodeMCUACFirst(st *scanState, blk *[64]int16) bool {
	if st.eobrun > 0 {
		st.eobrun--
		return true
	}
	// Work on copies so that a suspension leaves the state unchanged.
	al := uint(st.al)
	tbl := st.ac[0]
	for k := st.ss; k <= st.se; k++ {
		rs, ok := d.decodeHuff(tbl)
		if !ok {
			return false
		}
		r, s := rs>>4, rs&15
		if s != 0 {
			k += r
			v, ok := d.getBits(s)
			if !ok {
				return false
			}
			blk[zigzag[k]] = int16(uint32(extend(v, s)) << al)
		} else {
			if r == 15 {
				k += 15
				continue
			}
			eob := 1 << uint(r)
			if r != 0 {
				v, ok := d.getBits(r)
				if !ok {
					return false
				}
				eob += int(v)
			}
			st.eobrun = eob - 1
			break
		}
	}
	return true
}

func (d *decoder) decodeMCUACRefine(st *scanState, blk *[64]int16) bool {
	p1 := int16(1) << uint(st.al)
	m1 := int16(-1) << uint(st.al)
	k := st.ss
	se := st.se
	tbl := st.ac[0]
	eobrun := st.eobrun
	if eobrun == 0 {
		for ; k <= se; k++ {
			rs, ok := d.decodeHuff(tbl)
			if !ok {
				return false
			}
			r, s := rs>>4, rs&15
			var val int16
			if s != 0 {
				bit, ok := d.getBits(1)
				if !ok {
					return false
				}
				if bit != 0 {
					val = p1
				} else {
					val = m1
				}
			} else if r != 15 {
				eobrun = 1 << uint(r)
				if r != 0 {
					v, ok := d.getBits(r)
					if !ok {
						return false
					}
					eobrun += int(v)
				}
				break
			}
			for k <= se {
				c := &blk[zigzag[k]]
				if *c != 0 {
					bit, ok := d.getBits(1)
					if !ok {
						return false
					}
					if bit != 0 && *c&p1 == 0 {
						if *c >= 0 {
							*c += p1
						} else {
							*c += m1
						}
					}
				} else {
					r--
					if r < 0 {
						break
					}
				}
				k++
			}
			if s != 0 {
				blk[zigzag[k]] = val
			}
		}
	}
	if eobrun > 0 {
		for ; k <= se; k++ {
			c := &blk[zigzag[k]]
			if *c != 0 {
				bit, ok := d.getBits(1)
				if !ok {
					return false
				}
				if bit != 0 && *c&p1 == 0 {
					if *c >= 0 {
						*c += p1
					} else {
						*c += m1
					}
				}
			}
		}
		eobrun--
	}
	st.eobrun = eobrun
	return true
}
