package jpeg

// Arithmetic decoding (T.81 Annex D, F.2.4 and G.2), organised like
// libjpeg's jdarith.c so that damaged data is handled the same way: a
// marker inside the data supplies zero bytes, and running out of data is an
// error (libjpeg's arithmetic decoder cannot suspend).

// qeEntry is one row of T.81 Table D.2; row 113 is the fixed 0.5 estimate
// (Qe = 0x5A1D, never adapting) used for sign bits and DC refinement.
type qeEntry struct {
	qe         uint16
	nmps, nlps uint8
	switchMPS  uint8
}

var qeTable = [114]qeEntry{
	{0x5a1d, 1, 1, 1},     // 0
	{0x2586, 2, 14, 0},    // 1
	{0x1114, 3, 16, 0},    // 2
	{0x080b, 4, 18, 0},    // 3
	{0x03d8, 5, 20, 0},    // 4
	{0x01da, 6, 23, 0},    // 5
	{0x00e5, 7, 25, 0},    // 6
	{0x006f, 8, 28, 0},    // 7
	{0x0036, 9, 30, 0},    // 8
	{0x001a, 10, 33, 0},   // 9
	{0x000d, 11, 35, 0},   // 10
	{0x0006, 12, 9, 0},    // 11
	{0x0003, 13, 10, 0},   // 12
	{0x0001, 13, 12, 0},   // 13
	{0x5a7f, 15, 15, 1},   // 14
	{0x3f25, 16, 36, 0},   // 15
	{0x2cf2, 17, 38, 0},   // 16
	{0x207c, 18, 39, 0},   // 17
	{0x17b9, 19, 40, 0},   // 18
	{0x1182, 20, 42, 0},   // 19
	{0x0cef, 21, 43, 0},   // 20
	{0x09a1, 22, 45, 0},   // 21
	{0x072f, 23, 46, 0},   // 22
	{0x055c, 24, 48, 0},   // 23
	{0x0406, 25, 49, 0},   // 24
	{0x0303, 26, 51, 0},   // 25
	{0x0240, 27, 52, 0},   // 26
	{0x01b1, 28, 54, 0},   // 27
	{0x0144, 29, 56, 0},   // 28
	{0x00f5, 30, 57, 0},   // 29
	{0x00b7, 31, 59, 0},   // 30
	{0x008a, 32, 60, 0},   // 31
	{0x0068, 33, 62, 0},   // 32
	{0x004e, 34, 63, 0},   // 33
	{0x003b, 35, 32, 0},   // 34
	{0x002c, 9, 33, 0},    // 35
	{0x5ae1, 37, 37, 1},   // 36
	{0x484c, 38, 64, 0},   // 37
	{0x3a0d, 39, 65, 0},   // 38
	{0x2ef1, 40, 67, 0},   // 39
	{0x261f, 41, 68, 0},   // 40
	{0x1f33, 42, 69, 0},   // 41
	{0x19a8, 43, 70, 0},   // 42
	{0x1518, 44, 72, 0},   // 43
	{0x1177, 45, 73, 0},   // 44
	{0x0e74, 46, 74, 0},   // 45
	{0x0bfb, 47, 75, 0},   // 46
	{0x09f8, 48, 77, 0},   // 47
	{0x0861, 49, 78, 0},   // 48
	{0x0706, 50, 79, 0},   // 49
	{0x05cd, 51, 48, 0},   // 50
	{0x04de, 52, 50, 0},   // 51
	{0x040f, 53, 50, 0},   // 52
	{0x0363, 54, 51, 0},   // 53
	{0x02d4, 55, 52, 0},   // 54
	{0x025c, 56, 53, 0},   // 55
	{0x01f8, 57, 54, 0},   // 56
	{0x01a4, 58, 55, 0},   // 57
	{0x0160, 59, 56, 0},   // 58
	{0x0125, 60, 57, 0},   // 59
	{0x00f6, 61, 58, 0},   // 60
	{0x00cb, 62, 59, 0},   // 61
	{0x00ab, 63, 61, 0},   // 62
	{0x008f, 2, 61, 0},    // 63
	{0x5b12, 65, 65, 1},   // 64
	{0x4d04, 66, 80, 0},   // 65
	{0x412c, 67, 81, 0},   // 66
	{0x37d8, 68, 82, 0},   // 67
	{0x2fe8, 69, 83, 0},   // 68
	{0x293c, 70, 84, 0},   // 69
	{0x2379, 71, 86, 0},   // 70
	{0x1edf, 72, 87, 0},   // 71
	{0x1aa9, 73, 87, 0},   // 72
	{0x174e, 74, 72, 0},   // 73
	{0x1424, 75, 72, 0},   // 74
	{0x119c, 76, 74, 0},   // 75
	{0x0f6b, 77, 74, 0},   // 76
	{0x0d51, 78, 75, 0},   // 77
	{0x0bb6, 79, 77, 0},   // 78
	{0x0a40, 48, 77, 0},   // 79
	{0x5832, 81, 80, 1},   // 80
	{0x4d1c, 82, 88, 0},   // 81
	{0x438e, 83, 89, 0},   // 82
	{0x3bdd, 84, 90, 0},   // 83
	{0x34ee, 85, 91, 0},   // 84
	{0x2eae, 86, 92, 0},   // 85
	{0x299a, 87, 93, 0},   // 86
	{0x2516, 71, 86, 0},   // 87
	{0x5570, 89, 88, 1},   // 88
	{0x4ca9, 90, 95, 0},   // 89
	{0x44d9, 91, 96, 0},   // 90
	{0x3e22, 92, 97, 0},   // 91
	{0x3824, 93, 99, 0},   // 92
	{0x32b4, 94, 99, 0},   // 93
	{0x2e17, 86, 93, 0},   // 94
	{0x56a8, 96, 95, 1},   // 95
	{0x4f46, 97, 101, 0},  // 96
	{0x47e5, 98, 102, 0},  // 97
	{0x41cf, 99, 103, 0},  // 98
	{0x3c3d, 100, 104, 0}, // 99
	{0x375e, 93, 99, 0},   // 100
	{0x5231, 102, 105, 0}, // 101
	{0x4c0f, 103, 106, 0}, // 102
	{0x4639, 104, 107, 0}, // 103
	{0x415e, 99, 103, 0},  // 104
	{0x5627, 106, 105, 1}, // 105
	{0x50e7, 107, 108, 0}, // 106
	{0x4b85, 103, 109, 0}, // 107
	{0x5597, 109, 110, 0}, // 108
	{0x504f, 107, 111, 0}, // 109
	{0x5a10, 111, 110, 1}, // 110
	{0x5522, 109, 112, 0}, // 111
	{0x59eb, 111, 112, 1}, // 112
	{0x5a1d, 113, 113, 0}, // 113
}

const fixedBin = 113

type arithState struct {
	c, a     int64
	ct       int
	dcStats  [numArithTables][64]byte
	acStats  [numArithTables][256]byte
	dcCtx    [maxCompsInScan]int
	fixed    byte
	failed   bool // data ran out: libjpeg's JERR_CANT_SUSPEND
	stopped  bool // libjpeg's ct == -1 after a bad code: decode nothing more
	dcTbl    [maxCompsInScan]int
	acTbl    [maxCompsInScan]int
	hasStats bool
}

func (d *decoder) arithByte() int64 {
	if d.pos >= len(d.data) {
		d.ar.failed = true
		return 0
	}
	c := d.data[d.pos]
	d.pos++
	return int64(c)
}

// arithDecode decodes one binary decision with statistics bin *st
// (T.81 D.2.4-D.2.6, in libjpeg's register layout).
func (d *decoder) arithDecode(st *byte) int {
	e := &d.ar
	for e.a < 0x8000 {
		e.ct--
		if e.ct < 0 {
			var data int64
			if d.unread == 0 {
				data = d.arithByte()
				if data == 0xFF {
					for {
						data = d.arithByte()
						if data != 0xFF || e.failed {
							break
						}
					}
					if data == 0 {
						data = 0xFF
					} else {
						if !e.failed {
							d.unread = byte(data)
						}
						data = 0
					}
				}
			}
			e.c = e.c<<8 | data
			e.ct += 8
			if e.ct < 0 {
				e.ct++
				if e.ct == 0 {
					e.a = 0x8000
				}
			}
		}
		e.a <<= 1
	}
	sv := *st
	q := qeTable[sv&0x7F]
	qe := int64(q.qe)
	temp := e.a - qe
	e.a = temp
	temp <<= uint(e.ct)
	if e.c >= temp {
		e.c -= temp
		if e.a < qe {
			e.a = qe
			*st = (sv & 0x80) ^ q.nmps
		} else {
			e.a = qe
			*st = (sv & 0x80) ^ q.nlps
			if q.switchMPS != 0 {
				*st ^= 0x80
			}
			sv ^= 0x80
		}
	} else if e.a < 0x8000 {
		if e.a < qe {
			*st = (sv & 0x80) ^ q.nlps
			if q.switchMPS != 0 {
				*st ^= 0x80
			}
			sv ^= 0x80
		} else {
			*st = (sv & 0x80) ^ q.nmps
		}
	}
	return int(sv >> 7)
}

// arithStartPass initialises the statistics for a scan (libjpeg start_pass).
func (d *decoder) arithStartPass(st *scanState) error {
	e := &d.ar
	for i, c := range st.comps {
		if !d.progressive || (st.ss == 0 && st.ah == 0) {
			if c.dcTbl >= numArithTables {
				return FormatError("bad arithmetic table index")
			}
			e.dcTbl[i] = c.dcTbl
			e.dcStats[c.dcTbl] = [64]byte{}
			st.lastDC[i] = 0
			e.dcCtx[i] = 0
		}
		if !d.progressive || st.ss != 0 {
			if c.acTbl >= numArithTables {
				return FormatError("bad arithmetic table index")
			}
			e.acTbl[i] = c.acTbl
			e.acStats[c.acTbl] = [256]byte{}
		}
	}
	e.c, e.a, e.ct = 0, 0, -16
	e.fixed = fixedBin
	e.stopped = false
	st.restartsToGo = d.restartInterval
	return nil
}

// arithRestart is jdarith.c's process_restart.
func (d *decoder) arithRestart(st *scanState) error {
	if !d.readRestartMarker() {
		return errTruncated
	}
	e := &d.ar
	for i, c := range st.comps {
		if !d.progressive || (st.ss == 0 && st.ah == 0) {
			e.dcStats[c.dcTbl] = [64]byte{}
			st.lastDC[i] = 0
			e.dcCtx[i] = 0
		}
		if !d.progressive || st.ss != 0 {
			e.acStats[c.acTbl] = [256]byte{}
		}
	}
	e.c, e.a, e.ct = 0, 0, -16
	e.stopped = false
	st.restartsToGo = d.restartInterval
	return nil
}

// arithDCDiff decodes a DC difference (T.81 F.1.4.4.1 / F.2.4.1) for scan
// component ci; ok is false after a magnitude overflow.
func (d *decoder) arithDCDiff(st *scanState, ci int) (v int32, ok bool) {
	e := &d.ar
	tbl := e.dcTbl[ci]
	stats := &e.dcStats[tbl]
	s := e.dcCtx[ci]
	if d.arithDecode(&stats[s]) == 0 {
		e.dcCtx[ci] = 0
		return 0, true
	}
	sign := d.arithDecode(&stats[s+1])
	s += 2 + sign
	m := 0
	if m = d.arithDecode(&stats[s]); m != 0 {
		s = 20
		for d.arithDecode(&stats[s]) != 0 {
			m <<= 1
			if m == 0x8000 {
				return 0, false
			}
			s++
		}
	}
	if m < (1<<d.arithL[tbl])>>1 {
		e.dcCtx[ci] = 0
	} else if m > (1<<d.arithU[tbl])>>1 {
		e.dcCtx[ci] = 12 + sign*4
	} else {
		e.dcCtx[ci] = 4 + sign*4
	}
	v32 := int32(m)
	s += 14
	for m >>= 1; m != 0; m >>= 1 {
		if d.arithDecode(&stats[s]) != 0 {
			v32 |= int32(m)
		}
	}
	v32++
	if sign != 0 {
		v32 = -v32
	}
	return v32, true
}

// arithACValue decodes the magnitude and sign of a nonzero AC coefficient at
// zigzag index k, the statistics pointer being at bin s (T.81 F.2.4.2).
func (d *decoder) arithACValue(stats *[256]byte, s, k int, tbl int) (int32, bool) {
	e := &d.ar
	sign := d.arithDecode(&e.fixed)
	s += 2
	m := 0
	if m = d.arithDecode(&stats[s]); m != 0 {
		if d.arithDecode(&stats[s]) != 0 {
			m <<= 1
			if k <= int(d.arithK[tbl]) {
				s = 189
			} else {
				s = 217
			}
			for d.arithDecode(&stats[s]) != 0 {
				m <<= 1
				if m == 0x8000 {
					return 0, false
				}
				s++
			}
		}
	}
	v := int32(m)
	s += 14
	for m >>= 1; m != 0; m >>= 1 {
		if d.arithDecode(&stats[s]) != 0 {
			v |= int32(m)
		}
	}
	v++
	if sign != 0 {
		v = -v
	}
	return v, true
}

func (d *decoder) arithMCUSeq(st *scanState, blocks []*[64]int16) {
	e := &d.ar
	if e.stopped {
		return
	}
	for b, blk := range blocks {
		ci := st.membership[b]
		v, ok := d.arithDCDiff(st, ci)
		if !ok {
			e.stopped = true
			return
		}
		st.lastDC[ci] = (st.lastDC[ci] + v) & 0xffff
		blk[0] = int16(st.lastDC[ci])
		tbl := e.acTbl[ci]
		stats := &e.acStats[tbl]
		for k := 1; k <= 63; k++ {
			s := 3 * (k - 1)
			if d.arithDecode(&stats[s]) != 0 {
				break
			}
			for d.arithDecode(&stats[s+1]) == 0 {
				s += 3
				k++
				if k > 63 {
					e.stopped = true
					return
				}
			}
			v, ok := d.arithACValue(stats, s, k, tbl)
			if !ok {
				e.stopped = true
				return
			}
			blk[zigzag[k]] = int16(v)
		}
	}
}

func (d *decoder) arithMCUDCFirst(st *scanState, blocks []*[64]int16) {
	e := &d.ar
	if e.stopped {
		return
	}
	for b, blk := range blocks {
		ci := st.membership[b]
		v, ok := d.arithDCDiff(st, ci)
		if !ok {
			e.stopped = true
			return
		}
		st.lastDC[ci] += v
		blk[0] = int16(uint32(st.lastDC[ci]) << uint(st.al))
	}
}

func (d *decoder) arithMCUDCRefine(st *scanState, blocks []*[64]int16) {
	p1 := int16(1) << uint(st.al)
	for _, blk := range blocks {
		if d.arithDecode(&d.ar.fixed) != 0 {
			blk[0] |= p1
		}
	}
}

func (d *decoder) arithMCUACFirst(st *scanState, blk *[64]int16) {
	e := &d.ar
	if e.stopped {
		return
	}
	tbl := e.acTbl[0]
	stats := &e.acStats[tbl]
	for k := st.ss; k <= st.se; k++ {
		s := 3 * (k - 1)
		if d.arithDecode(&stats[s]) != 0 {
			break
		}
		for d.arithDecode(&stats[s+1]) == 0 {
			s += 3
			k++
			if k > st.se {
				e.stopped = true
				return
			}
		}
		v, ok := d.arithACValue(stats, s, k, tbl)
		if !ok {
			e.stopped = true
			return
		}
		blk[zigzag[k]] = int16(uint32(v) << uint(st.al))
	}
}

func (d *decoder) arithMCUACRefine(st *scanState, blk *[64]int16) {
	e := &d.ar
	if e.stopped {
		return
	}
	tbl := e.acTbl[0]
	stats := &e.acStats[tbl]
	p1 := int16(1) << uint(st.al)
	m1 := int16(-1) << uint(st.al)
	kex := st.se
	for ; kex > 0; kex-- {
		if blk[zigzag[kex]] != 0 {
			break
		}
	}
	for k := st.ss; k <= st.se; k++ {
		s := 3 * (k - 1)
		if k > kex {
			if d.arithDecode(&stats[s]) != 0 {
				break
			}
		}
		for {
			c := &blk[zigzag[k]]
			if *c != 0 {
				if d.arithDecode(&stats[s+2]) != 0 {
					if *c < 0 {
						*c += m1
					} else {
						*c += p1
					}
				}
				break
			}
			if d.arithDecode(&stats[s+1]) != 0 {
				if d.arithDecode(&e.fixed) != 0 {
					*c = m1
				} else {
					*c = p1
				}
				break
			}
			s += 3
			k++
			if k > st.se {
				e.stopped = true
				return
			}
		}
	}
}
