package jpeg

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

func requireAVX2(t *testing.T) {
	t.Helper()
	if !useAVX2 {
		t.Skip("no AVX2 kernels here (purego build, non-amd64, or a CPU without AVX2)")
	}
}

// idctForms reads the linear forms of the 1-D transform off idctPass1:
// forms[k][j] is the coefficient of input j in output k. A column whose
// only dequantized value is 2048 at row j gives the workspace value
// (2048·c + 2^10) >> 11 = c at row k.
func idctForms() [8][8]int64 {
	var forms [8][8]int64
	for j := 0; j < 8; j++ {
		var blk [64]int16
		var q [64]int32
		var ws [64]int32
		blk[8*j], q[8*j] = 1, 2048
		idctPass1(&blk, &q, &ws)
		for k := 0; k < 8; k++ {
			forms[k][j] = int64(ws[8*k])
		}
	}
	return forms
}

// TestIDCTBound re-derives idctFormL1 and idctBound (see idct.go).
func TestIDCTBound(t *testing.T) {
	forms := idctForms()
	if forms[0][0] != 8192 || forms[0][1] != 11363 || forms[7][1] != -11363 {
		t.Fatalf("forms read off pass 1 look wrong: %v", forms)
	}
	var l1 int64
	for _, f := range forms {
		var s int64
		for _, c := range f {
			s += max(c, -c)
		}
		l1 = max(l1, s)
	}
	if l1 != idctFormL1 {
		t.Errorf("largest L1 norm of the forms is %d, idctFormL1 says %d", l1, idctFormL1)
	}
	const lim = 1<<31 - 1
	if idctBound*l1+1<<10 > lim || (idctBound+1)*l1+1<<10 <= lim {
		t.Errorf("idctBound %d is not the largest bound keeping pass 1 in int32 (L1 %d)", idctBound, l1)
	}
}

// idctCase fills a block and a quantization table.
type idctCase struct {
	name        string
	fill        func(r *rand.Rand, blk *[64]int16, q *[64]int32)
	wantAll     bool // every block of the case is inside the bound
	wantSomeNo  bool // some blocks of the case are outside it
	wantSomeYes bool // some blocks of the case are inside it
}

func idctCases() []idctCase {
	worst := idctForms()[2]
	sign := func(c int64) int16 {
		if c < 0 {
			return -1
		}
		return 1
	}
	return []idctCase{
		{name: "photo", wantAll: true, fill: func(r *rand.Rand, blk *[64]int16, q *[64]int32) {
			for i := range blk {
				q[i] = 1 + r.Int32N(64)
				blk[i] = 0
				if i == 0 || r.IntN(4) == 0 {
					blk[i] = int16(r.IntN(2049)-1024) / int16(q[i]) >> r.IntN(4)
				}
			}
		}},
		// Whole columns (pass 1's shortcut) or rows of the workspace (pass
		// 2's) without AC energy: the Go code takes its shortcuts, the
		// assembly does not.
		{name: "zero-runs", wantAll: true, fill: func(r *rand.Rand, blk *[64]int16, q *[64]int32) {
			for i := range blk {
				q[i] = 1 + r.Int32N(255)
				blk[i] = int16(r.IntN(257) - 128)
				if i%8 != 0 && r.IntN(2) == 0 || i >= 8 && r.IntN(3) == 0 {
					blk[i] = 0
				}
			}
			for c := 0; c < 8; c++ {
				if r.IntN(2) == 0 {
					for row := 1; row < 8; row++ {
						blk[8*row+c] = 0
					}
				}
			}
		}},
		{name: "extreme", wantSomeNo: true, fill: func(r *rand.Rand, blk *[64]int16, q *[64]int32) {
			for i := range blk {
				q[i] = int32(int16(r.Uint32()))
				blk[i] = int16(r.Uint32())
			}
		}},
		// Dequantized values a few steps either side of the bound, with
		// the signs of output 2's form so that its sum gets within 2^17 of
		// 2^31 when all are inside.
		{name: "near-bound", wantSomeNo: true, wantSomeYes: true, fill: func(r *rand.Rand, blk *[64]int16, q *[64]int32) {
			// idctBound is prime: 2·(idctBound/2) and 2·(idctBound/2+1)
			// are the nearest reachable values inside and outside.
			up := r.IntN(2)
			for i := range blk {
				q[i] = 2
				blk[i] = sign(worst[i/8]) * int16(idctBound/2-r.IntN(2)+up*r.IntN(2))
			}
		}},
		// Every column in the worst pattern for output 2 (each column
		// negated or not): pass 1's sum for row 2 is within 2^17 of 2^31.
		{name: "worst-inside", wantAll: true, fill: func(r *rand.Rand, blk *[64]int16, q *[64]int32) {
			var flip [8]int16
			for c := range flip {
				flip[c] = int16(1 - 2*r.IntN(2))
			}
			for i := range blk {
				q[i] = 2
				blk[i] = flip[i%8] * sign(worst[i/8]) * int16(idctBound/2)
			}
		}},
		// 2^19 at one position: pass 1's sum is a multiple of 2^32 that
		// wraps to 0 in 32 bits, a workspace value that looks harmless;
		// only the bound on the input catches it.
		{name: "wrapping", wantSomeNo: true, fill: func(r *rand.Rand, blk *[64]int16, q *[64]int32) {
			*blk, *q = [64]int16{}, [64]int32{}
			for i := range q {
				q[i] = 1
			}
			i := r.IntN(64)
			blk[i], q[i] = 32, 16384
		}},
	}
}

// TestIDCTAVX2MatchesGo runs idctAVX2 and the Go idct on random blocks and
// requires the same bytes, no writes outside the block, and a decline
// exactly when some |blk[i]*q[i]| exceeds idctBound.
func TestIDCTAVX2MatchesGo(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(3, 7))
	for _, tc := range idctCases() {
		t.Run(tc.name, func(t *testing.T) {
			accepted, declined := 0, 0
			for n := 0; n < 3000; n++ {
				var blk [64]int16
				var q [64]int32
				tc.fill(r, &blk, &q)
				inside := true
				for i := range blk {
					d := int64(blk[i]) * int64(q[i])
					inside = inside && max(d, -d) <= idctBound
				}
				stride, off := 8+r.IntN(9), r.IntN(5)
				init := make([]byte, off+8*stride+5)
				for i := range init {
					init[i] = byte(0xA5 + i)
				}
				want := bytes.Clone(init)
				idctGo(&blk, &q, want, off, stride)
				got := bytes.Clone(init)
				ok := idctAVX2(&blk, &q, &got[off], stride)
				switch {
				case ok != inside:
					t.Fatalf("block %v q %v: idctAVX2 says %v, the bound says %v", blk, q, ok, inside)
				case ok && !bytes.Equal(got, want):
					t.Fatalf("block %v q %v stride %d:\n got %v\nwant %v", blk, q, stride, got, want)
				case !ok && !bytes.Equal(got, init):
					t.Fatalf("block %v q %v: declined but wrote to out", blk, q)
				}
				if ok {
					accepted++
				} else {
					declined++
				}
			}
			if tc.wantAll && declined > 0 || tc.wantSomeNo && declined == 0 || tc.wantSomeYes && accepted == 0 {
				t.Errorf("%d accepted, %d declined", accepted, declined)
			}
		})
	}
}

// TestYccRowAVX2MatchesGo converts random rows of every width 1..70 and
// every (Cb, Cr) pair with both paths, checking the bytes after the row.
func TestYccRowAVX2MatchesGo(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(5, 9))
	sample := func() byte {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return 255
		}
		return byte(r.Uint32())
	}
	check := func(yy, cb, cr []byte) {
		n := len(yy)
		got := bytes.Repeat([]byte{0xC3}, 3*n+8)
		want := bytes.Clone(got)
		yccRow(yy, cb, cr, got[:3*n])
		yccRowGo(yy, cb, cr, want[:3*n])
		if !bytes.Equal(got, want) {
			t.Fatalf("width %d y %v cb %v cr %v:\n got %v\nwant %v", n, yy, cb, cr, got, want)
		}
	}
	for n := 1; n <= 70; n++ {
		for rep := 0; rep < 20; rep++ {
			yy, cb, cr := make([]byte, n), make([]byte, n), make([]byte, n)
			for i := range yy {
				yy[i], cb[i], cr[i] = sample(), sample(), sample()
			}
			check(yy, cb, cr)
		}
	}
	yy, cb, cr := make([]byte, 256), make([]byte, 256), make([]byte, 256)
	for b := range cb {
		cb[b] = byte(b)
	}
	for c := 0; c < 256; c++ {
		for i := range cr {
			cr[i] = byte(c)
		}
		for _, y := range []byte{0, 255, byte(c)} {
			for i := range yy {
				yy[i] = y ^ byte(i&1)*sample()
			}
			check(yy, cb, cr)
		}
	}
}

// TestGrayRowAVX2MatchesGo replicates random rows of every width 1..70
// with both paths, checking the bytes after the row.
func TestGrayRowAVX2MatchesGo(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(23, 29))
	for n := 1; n <= 70; n++ {
		g := make([]byte, n)
		for i := range g {
			g[i] = byte(r.Uint32())
		}
		got := bytes.Repeat([]byte{0x3C}, 3*n+8)
		want := bytes.Clone(got)
		grayRow(g, got[:3*n])
		grayRowGo(g, want[:3*n])
		if !bytes.Equal(got, want) {
			t.Fatalf("width %d gray %v:\n got %v\nwant %v", n, g, got, want)
		}
	}
}

// TestFancyUpsamplingAVX2MatchesGo compares h2v1Fancy and h2v2Fancy with
// and without the AVX2 interiors for every width 3..90.
func TestFancyUpsamplingAVX2MatchesGo(t *testing.T) {
	requireAVX2(t)
	r := rand.New(rand.NewPCG(11, 13))
	row := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			switch r.IntN(4) {
			case 0:
				b[i] = 255
			case 1:
				b[i] = 0
			default:
				b[i] = byte(r.Uint32())
			}
		}
		return b
	}
	for n := 3; n <= 90; n++ {
		for rep := 0; rep < 20; rep++ {
			in0, in1 := row(n), row(n)
			for _, f := range []struct {
				name string
				run  func(out []byte)
			}{
				{"h2v1", func(out []byte) { h2v1Fancy(in0, out) }},
				{"h2v2", func(out []byte) { h2v2Fancy(in0, in1, out) }},
			} {
				got := bytes.Repeat([]byte{0x5C}, 2*n+8)
				want := bytes.Clone(got)
				f.run(got[:2*n])
				restore := disableAVX2()
				f.run(want[:2*n])
				restore()
				if !bytes.Equal(got, want) {
					t.Fatalf("%s width %d in0 %v in1 %v:\n got %v\nwant %v", f.name, n, in0, in1, got, want)
				}
			}
		}
	}
}

// TestDecodeAVX2MatchesGo decodes every committed JPEG, and corrupted
// copies of a few, with and without the AVX2 kernels: the bytes (or the
// errors) must be the same.
func TestDecodeAVX2MatchesGo(t *testing.T) {
	requireAVX2(t)
	paths := fixtures.TestJPEGs(t)
	decodeBoth := func(name string, data []byte) {
		img, err := Decode(data)
		restore := disableAVX2()
		want, werr := Decode(data)
		restore()
		if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Fatalf("%s: error %v with AVX2, %v without", name, err, werr)
		}
		if err == nil && !bytes.Equal(img.Pix, want.Pix) {
			t.Fatalf("%s: pixels differ with and without AVX2", name)
		}
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		decodeBoth(filepath.Base(p), data)
	}
	for _, name := range []string{"sub_420_q85.jpg", "progressive_420_q85.jpg"} {
		data := readTestdata(t, name)
		for i := 2; i < len(data); i += 211 {
			c := bytes.Clone(data)
			c[i] ^= 0x5A
			decodeBoth(name, c)
		}
	}
}

// FuzzIDCTAVX2 checks idctAVX2 against the Go idct on arbitrary
// coefficients and quantization tables (the first 256 bytes give 64
// int16 coefficients and 64 int16 multipliers, as marker.go latches them;
// a 257th byte shifts both right by its low 4 bits, so that the fuzzer
// reaches photo-sized values as easily as hostile ones).
func FuzzIDCTAVX2(f *testing.F) {
	if !useAVX2 {
		f.Skip("no AVX2 kernels here (purego build, non-amd64, or a CPU without AVX2)")
	}
	r := rand.New(rand.NewPCG(17, 19))
	for _, tc := range idctCases() {
		var blk [64]int16
		var q [64]int32
		tc.fill(r, &blk, &q)
		seed := make([]byte, 256)
		for i := range blk {
			binary.LittleEndian.PutUint16(seed[2*i:], uint16(blk[i]))
			binary.LittleEndian.PutUint16(seed[128+2*i:], uint16(q[i]))
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 256 {
			return
		}
		var blk [64]int16
		var q [64]int32
		shift := 0
		if len(data) > 256 {
			shift = int(data[256] & 15)
		}
		inside := true
		for i := range blk {
			blk[i] = int16(binary.LittleEndian.Uint16(data[2*i:])) >> shift
			q[i] = int32(int16(binary.LittleEndian.Uint16(data[128+2*i:])) >> shift)
			d := int64(blk[i]) * int64(q[i])
			inside = inside && max(d, -d) <= idctBound
		}
		want := make([]byte, 64)
		idctGo(&blk, &q, want, 0, 8)
		got := make([]byte, 64)
		ok := idctAVX2(&blk, &q, &got[0], 8)
		if ok != inside || ok && !bytes.Equal(got, want) {
			t.Fatalf("block %v q %v: ok %v (bound says %v)\n got %v\nwant %v", blk, q, ok, inside, got, want)
		}
	})
}
