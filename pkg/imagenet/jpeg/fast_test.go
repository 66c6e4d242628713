package jpeg

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// refFastMCU is libjpeg-turbo's decode_mcu_fast written out plainly (its
// FILL_BIT_BUFFER_FAST before every code and every code's magnitude bits,
// HUFF_DECODE_FAST one bit at a time past the 8-bit lookahead), for the
// relation test: decodeMCUSeqFast must leave exactly its reader state.
func refFastMCU(d *decoder, st *scanState, blocks []*[64]int16) bool {
	data, pos, buf, nbits := d.data, d.pos, d.bbuf, d.nbits
	fill := func() bool {
		if nbits > 16 {
			return true
		}
		if pos+13 > len(data) {
			return false
		}
		for i := 0; i < 6; i++ {
			c := data[pos]
			pos++
			buf = buf<<8 | uint64(c)
			nbits += 8
			if c == 0xFF {
				if data[pos] != 0 {
					return false
				}
				pos++
			}
		}
		return true
	}
	get := func(n int) int32 {
		nbits -= n
		return int32(buf>>uint(nbits)) & (1<<uint(n) - 1)
	}
	huff := func(t *huffTable) (int, bool) {
		if !fill() {
			return 0, false
		}
		if e := t.lookup[(buf>>uint(nbits-8))&0xFF]; e>>8 <= 8 {
			nbits -= int(e >> 8)
			return int(e & 0xFF), true
		}
		l := 9
		code := get(l)
		for code > t.maxcode[l] {
			code = code<<1 | get(1)
			l++
		}
		if l > 16 {
			return 0, true
		}
		return int(t.vals[(code+t.valoffset[l])&0xFF]), true
	}
	lastDC := st.lastDC
	for b, blk := range blocks {
		ci := st.membership[b]
		s, ok := huff(st.dc[ci])
		if !ok {
			return false
		}
		if s != 0 {
			if !fill() {
				return false
			}
			lastDC[ci] += extend(get(s), s)
		}
		blk[0] = int16(lastDC[ci])
		nz := false
		for k := 1; k < 64; k++ {
			rs, ok := huff(st.ac[ci])
			if !ok {
				return false
			}
			r, s := rs>>4, rs&15
			if s != 0 {
				k += r
				if !fill() {
					return false
				}
				blk[zigzag[k]] = int16(extend(get(s), s))
				nz = true
			} else if r != 15 {
				break
			} else {
				k += 15
			}
		}
		st.acNZ[b] = nz
	}
	d.pos, d.bbuf, d.nbits = pos, buf, nbits
	st.lastDC = lastDC
	return true
}

// refSlowMCU is libjpeg's decode_mcu_slow on this package's bit reader
// (decodeHuff, getBits): one code, then its magnitude bits, at a time.
func refSlowMCU(d *decoder, st *scanState, blocks []*[64]int16) bool {
	return d.decodeMCUSeqComb(st, blocks, 65)
}

// seqScan sets up the decoding of a file's first scan as decodeScan does,
// or returns nil unless it is a single-scan sequential Huffman file.
func seqScan(data []byte) (d *decoder, st *scanState, mcus, nblocks int) {
	d = &decoder{data: data}
	if d.readHeader() != nil || d.progressive || d.arith || d.multiScan {
		return nil, nil, 0, 0
	}
	for i, std := range []*huffSpec{stdDCLuma, stdDCChroma} {
		if d.dcTables[i] == nil {
			d.dcTables[i] = std
		}
	}
	for i, std := range []*huffSpec{stdACLuma, stdACChroma} {
		if d.acTables[i] == nil {
			d.acTables[i] = std
		}
	}
	st = &scanState{comps: d.scan.comps, restartsToGo: d.restartInterval}
	if d.scanTables(st, true, true) != nil {
		return nil, nil, 0, 0
	}
	for i, c := range st.comps {
		n := 1
		if len(st.comps) > 1 {
			n = c.h * c.v
		}
		if nblocks+n > maxBlocksInMCU {
			return nil, nil, 0, 0
		}
		for j := 0; j < n; j++ {
			st.membership[nblocks+j] = i
		}
		nblocks += n
	}
	mcus = d.mcusX * d.mcusY
	if len(st.comps) == 1 {
		mcus = st.comps[0].bw * st.comps[0].bh
	}
	return d, st, mcus, nblocks
}

// unstuffedCounts returns, for each offset i from start, the number of
// entropy-coded bytes in data[start:i] as fill reads them: 0xFF, any
// further 0xFF fill bytes and the stuffed zero are one byte; counting
// stops at a marker.
func unstuffedCounts(data []byte, start int) []int {
	n := make([]int, len(data)+1)
	for i := start; i < len(data); i++ {
		n[i+1] = n[i] + 1
		if data[i] != 0xFF {
			continue
		}
		j := i + 1
		for j < len(data) && data[j] == 0xFF {
			j++
		}
		if j == len(data) || data[j] != 0 {
			break
		}
		for ; i < j; i++ {
			n[i+2] = n[i+1]
		}
	}
	return n
}

type mcuOut struct {
	blocks [maxBlocksInMCU][64]int16
	nz     [maxBlocksInMCU]bool
	lastDC [maxCompsInScan]int32
}

// sameReader reports whether two decoders' bit readers are in the same
// state (the bits above nbits in the buffer do not matter).
func sameReader(a, b *decoder) bool {
	mask := uint64(1)<<uint(a.nbits) - 1
	return a.pos == b.pos && a.nbits == b.nbits && a.bbuf&mask == b.bbuf&mask && a.unread == b.unread &&
		a.insufficient == b.insufficient && fmt.Sprint(a.warnings) == fmt.Sprint(b.warnings)
}

// checkSeqPaths decodes the first scan of data MCU by MCU as decodeScan
// does. Wherever the fast path is tried it also runs refFastMCU and the
// slow path decodeMCUSeq from the same state: the fast path must succeed
// exactly when the reference does, leave the same reader state and
// coefficients, and agree with the slow path on the coefficients and on
// the number of bits used. Wherever the slow path runs, refSlowMCU must
// give the same result, reader state and coefficients. It returns how many
// MCUs the fast path decoded.
func checkSeqPaths(t *testing.T, name string, data []byte) int {
	t.Helper()
	d, st, mcus, nb := seqScan(data)
	if d == nil {
		return 0
	}
	unstuffed := unstuffedCounts(data, d.pos)
	bitsTaken := func(d *decoder) int { return 8*unstuffed[d.pos] - d.nbits }
	run := func(dec func(*decoder, *scanState, []*[64]int16) bool, d0 decoder, st0 scanState) (bool, decoder, scanState, mcuOut) {
		var o mcuOut
		blocks := make([]*[64]int16, nb)
		for b := range blocks {
			blocks[b] = &o.blocks[b]
		}
		ok := dec(&d0, &st0, blocks)
		o.nz, o.lastDC = st0.acNZ, st0.lastDC
		return ok, d0, st0, o
	}
	fastMCUs := 0
	for m := 0; m < mcus; m++ {
		where := fmt.Sprintf("%s: MCU %d at byte %d", name, m, d.pos)
		if d.restartInterval > 0 {
			if st.restartsToGo == 0 && !d.processRestartHuff(st) {
				break
			}
			st.restartsToGo--
		}
		if d.insufficient {
			continue
		}
		if d.restartInterval == 0 && d.unread == 0 && len(d.data)-d.pos >= 512*nb {
			okF, dF, stF, oF := run((*decoder).decodeMCUSeqFast, *d, *st)
			okR, dR, _, oR := run(refFastMCU, *d, *st)
			if okF != okR {
				t.Fatalf("%s: fast path ok=%v, libjpeg-turbo's ok=%v", where, okF, okR)
			}
			if okF {
				if !sameReader(&dF, &dR) {
					t.Fatalf("%s: reader at byte %d with %d bits, libjpeg-turbo's at byte %d with %d bits", where, dF.pos, dF.nbits, dR.pos, dR.nbits)
				}
				if oF != oR {
					t.Fatalf("%s: coefficients differ from libjpeg-turbo's fast path", where)
				}
				okS, dS, _, oS := run((*decoder).decodeMCUSeq, *d, *st)
				if !okS || oS.blocks != oF.blocks || oS.lastDC != oF.lastDC {
					t.Fatalf("%s: coefficients differ from the slow path's (slow ok=%v)", where, okS)
				}
				if dS.unread == 0 && bitsTaken(&dS) != bitsTaken(&dF) {
					t.Fatalf("%s: fast path used %d bits, slow path %d", where, bitsTaken(&dF), bitsTaken(&dS))
				}
				*d, *st = dF, stF
				fastMCUs++
				continue
			}
		}
		ok, dS, stS, oS := run((*decoder).decodeMCUSeq, *d, *st)
		okR, dR, _, oR := run(refSlowMCU, *d, *st)
		if ok != okR || !sameReader(&dS, &dR) || oS != oR {
			t.Fatalf("%s: slow path (ok=%v) differs from libjpeg's decode_mcu_slow (ok=%v)", where, ok, okR)
		}
		if !ok {
			break
		}
		*d, *st = dS, stS
	}
	return fastMCUs
}

// TestSeqPathsMatchReference runs checkSeqPaths on the committed
// sequential files (with and without restart intervals), on copies cut short at many offsets and on copies with
// corrupt entropy-coded bytes (random values, 0xFF, markers), which reach
// invalid codes, runs past the last coefficient and long codes.
func TestSeqPathsMatchReference(t *testing.T) {
	names := []string{"sub_444_q85.jpg", "sub_420_q85.jpg", "sub_422_q85.jpg", "sub_411_q85.jpg", "sub_440_q85.jpg",
		"q100_444.jpg", "q100_420.jpg", "q50_420.jpg", "q95_420.jpg", "optimize_420_q85.jpg", "gray_q85.jpg",
		"cmyk_pillow.jpg", "rgb_colorspace_q90.jpg", "odd_333x251_420.jpg", "gomod_go-turns-two-280x360.jpeg",
		"skimage_rocket.jpg", "truncated_baseline.jpg", "trailing_garbage.jpg", "rst_opencv_every1mcu.jpg",
		"rst_opencv_every7mcu_odd.jpg", "rst_cjpeg_rows1_422.jpg"}
	rng := rand.New(rand.NewSource(1))
	total := 0
	for _, name := range names {
		data := readTestdata(t, name)
		n := checkSeqPaths(t, name, data)
		if n == 0 && !strings.HasPrefix(name, "rst_") {
			t.Fatalf("%s: the fast path decoded no MCU", name)
		}
		total += n
		sos := bytes.Index(data, []byte{0xFF, mSOS})
		if len(data) > 40000 {
			continue
		}
		for cut := sos + 20; cut < len(data); cut += 1 + rng.Intn(len(data)/40) {
			checkSeqPaths(t, fmt.Sprintf("%s cut at %d", name, cut), data[:cut])
		}
		for i := 0; i < 40; i++ {
			c := append([]byte(nil), data...)
			desc := name
			for j := 0; j < 1+rng.Intn(4); j++ {
				at := sos + 20 + rng.Intn(len(data)-sos-22)
				switch rng.Intn(4) {
				case 0:
					c[at] = byte(rng.Intn(256))
				case 1:
					c[at] = 0xFF
				case 2:
					c[at], c[at+1] = 0xFF, byte(mRST0+rng.Intn(8))
				default:
					for k := at; k < min(at+64, len(c)-2); k++ {
						c[k] = byte(rng.Intn(256))
					}
				}
				desc += fmt.Sprintf(" @%d", at)
			}
			checkSeqPaths(t, desc, c)
		}
	}
	t.Logf("%d MCUs checked on the fast path", total)
}

// FuzzSeqPaths runs checkSeqPaths on arbitrary files, seeded with the
// committed sequential JPEGs under 30 kB.
func FuzzSeqPaths(f *testing.F) {
	for _, name := range []string{"sub_444_q85.jpg", "sub_420_q85.jpg", "q50_420.jpg", "optimize_420_q85.jpg",
		"gray_q85.jpg", "odd_13x7_444.jpg", "rst_opencv_every7mcu_odd.jpg", "truncated_baseline_444.jpg"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if w, h, err := DecodeConfig(data); err != nil || w*h > 1e6 {
			return
		}
		checkSeqPaths(t, "fuzz input", data)
	})
}
