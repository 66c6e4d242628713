package imagenet

import (
	"math/rand/v2"
	"testing"
)

// The expectations below are computed by hand from mmcv's and PIL's
// documented formulas (see the comments), not by the code under test.

func raTestImage(w, h int, f func(x, y, c int) uint8) *Image {
	img := NewImage(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				img.Pix[(y*w+x)*3+c] = f(x, y, c)
			}
		}
	}
	return img
}

func raOp(typ, dir string) RandAugmentOp {
	for _, op := range TimmIncreasing {
		if op.Type == typ && (dir == "" || op.Direction == dir) {
			return op
		}
	}
	panic(typ)
}

var raDefault = &RandAugment{PadVal: [3]uint8{1, 2, 3}, Interpolation: "bicubic"}

func pixelsOf(img *Image) []uint8 { return append([]uint8(nil), img.Pix...) }

func TestRandAugmentPointOps(t *testing.T) {
	vals := []uint8{0, 10, 63, 76, 77, 100, 127, 128, 200, 255}
	img := func() *Image {
		m := NewImage(len(vals), 1)
		for i, v := range vals {
			m.Pix[3*i], m.Pix[3*i+1], m.Pix[3*i+2] = v, v, v
		}
		return m
	}
	cases := []struct {
		op   string
		mag  float64
		want []uint8
	}{
		// 255 − x
		{"Invert", 0, []uint8{255, 245, 192, 179, 178, 155, 128, 127, 55, 0}},
		// bits = ceil(1.2) = 2: x >> 6 << 6
		{"Posterize", 1.2, []uint8{0, 0, 0, 64, 64, 64, 64, 128, 192, 192}},
		// bits = 0: everything 0
		{"Posterize", 0, []uint8{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		// x < 76.8 ? x : 255 − x
		{"Solarize", 76.8, []uint8{0, 10, 63, 76, 178, 155, 128, 127, 55, 0}},
		// x < 128 ? trunc(min(x + 76.9, 255)) : x
		{"SolarizeAdd", 76.9, []uint8{76, 86, 139, 152, 153, 176, 203, 128, 200, 255}},
		// trunc(clip(1.5·x))
		{"Brightness", 0.5, []uint8{0, 15, 94, 114, 115, 150, 190, 192, 255, 255}},
	}
	for _, c := range cases {
		m := img()
		got := raDefault.ApplyOp(m, raOp(c.op, ""), c.mag)
		for i, w := range c.want {
			for ch := 0; ch < 3; ch++ {
				if g := got.Pix[3*i+ch]; g != w {
					t.Errorf("%s(%v) of %d = %d, want %d", c.op, c.mag, vals[i], g, w)
				}
			}
		}
	}
}

func TestRandAugmentAutoContrast(t *testing.T) {
	// B takes 50, 100, 150: lut = trunc(x·2.55 − 127.5) → 0, 127, 255.
	// G is constant (left alone); R spans 0..255 (identity).
	bs, rs := []uint8{50, 100, 150}, []uint8{0, 255, 128}
	img := raTestImage(3, 1, func(x, y, c int) uint8 {
		switch c {
		case 0:
			return bs[x]
		case 1:
			return 7
		}
		return rs[x]
	})
	got := raDefault.ApplyOp(img, raOp("AutoContrast", ""), 0)
	want := []uint8{0, 7, 0, 127, 7, 255, 255, 7, 128}
	for i, w := range want {
		if got.Pix[i] != w {
			t.Fatalf("AutoContrast = %v, want %v", got.Pix, want)
		}
	}
}

func TestRandAugmentEqualize(t *testing.T) {
	// 32×32: B = 10 on 512 pixels, 20 and 30 on 256 each.
	// step = (1024 − 256) // 255 = 3; lut[v] = (#{x < v} + 1) // 3:
	// 10 → 0, 20 → 513//3 = 171, 30 → 769//3 = 256 → 255.
	// G is constant (step 0: unchanged). R: 1023 pixels of 0, one of 9:
	// step = (1024 − 1)//255 = 4, lut[9] = (1023 + 2)//4 = 256 → 255.
	img := raTestImage(32, 32, func(x, y, c int) uint8 {
		i := y*32 + x
		switch c {
		case 0:
			if i < 512 {
				return 10
			} else if i < 768 {
				return 20
			}
			return 30
		case 1:
			return 5
		}
		if i == 1023 {
			return 9
		}
		return 0
	})
	got := raDefault.ApplyOp(img, raOp("Equalize", ""), 0)
	check := func(i int, want [3]uint8) {
		for c := 0; c < 3; c++ {
			if got.Pix[3*i+c] != want[c] {
				t.Errorf("Equalize pixel %d = %v, want %v", i, got.Pix[3*i:3*i+3], want)
				return
			}
		}
	}
	check(0, [3]uint8{0, 5, 0})
	check(600, [3]uint8{171, 5, 0})
	check(1023, [3]uint8{255, 5, 255})
}

func TestRandAugmentColorOps(t *testing.T) {
	// A pure red pixel (B, G, R) = (0, 0, 255) and a gray one.
	// gray(red) = (255·4899 + 8192) >> 14 = 76.
	// ColorTransform alpha = 1 + m, beta = −m, rounded half to even:
	// m = −0.5: R = 127.5 + 38 = 165.5 → 166, B = G = 38.
	img := raTestImage(2, 1, func(x, y, c int) uint8 {
		if x == 1 {
			return 90
		}
		if c == 2 {
			return 255
		}
		return 0
	})
	got := raDefault.ApplyOp(img, raOp("ColorTransform", ""), -0.5)
	want := []uint8{38, 38, 166, 90, 90, 90}
	for i, w := range want {
		if got.Pix[i] != w {
			t.Fatalf("ColorTransform = %v, want %v", got.Pix, want)
		}
	}
	// Contrast with factor 1.5 around the rounded gray mean:
	// gray = [76, 90], mean = round(83) = 83; out = trunc(1.5x − 41.5).
	img = raTestImage(2, 1, func(x, y, c int) uint8 {
		if x == 1 {
			return 90
		}
		if c == 2 {
			return 255
		}
		return 0
	})
	got = raDefault.ApplyOp(img, raOp("Contrast", ""), 0.5)
	want = []uint8{0, 0, 255, 93, 93, 93} // 1.5·90 − 41.5 = 93.5 → 93
	for i, w := range want {
		if got.Pix[i] != w {
			t.Fatalf("Contrast = %v, want %v", got.Pix, want)
		}
	}
	// Sharpness leaves a constant image alone; on a single bright pixel
	// in a 3×3 zero image the SMOOTH filter gives 5·130/13 = 50 at the
	// centre and 10 around; factor 2: 2·130 − 50 = 210, 0·2 − 10 → 0.
	img = raTestImage(3, 3, func(x, y, c int) uint8 {
		if x == 1 && y == 1 {
			return 130
		}
		return 0
	})
	got = raDefault.ApplyOp(img, raOp("Sharpness", ""), 1)
	if got.Pix[(1*3+1)*3] != 210 || got.Pix[0] != 0 {
		t.Fatalf("Sharpness = %v", got.Pix)
	}
	img = raTestImage(4, 4, func(x, y, c int) uint8 { return 77 })
	got = raDefault.ApplyOp(img, raOp("Sharpness", ""), 0.9)
	for _, v := range got.Pix {
		if v != 77 {
			t.Fatalf("Sharpness changed a constant image: %v", got.Pix)
		}
	}
}

func TestRandAugmentTranslate(t *testing.T) {
	// PIL AFFINE (1, 0, tx, 0, 1, 0), nearest: out(x) = in(floor(x + ½ + tx)).
	// width 10, magnitude 0.15 → tx = 1.5 → out(x) = in(x + 2), x < 8;
	// magnitude −0.15 → out(x) = in(x − 1), x ≥ 1 (x = 0 reads −1: pad).
	img := func() *Image { return raTestImage(10, 2, func(x, y, c int) uint8 { return uint8(10*x + y + 100*c) }) }
	for _, tc := range []struct {
		mag   float64
		shift int
	}{{0.15, 2}, {-0.15, -1}} {
		got := raDefault.ApplyOp(img(), raOp("Translate", "horizontal"), tc.mag)
		for y := 0; y < 2; y++ {
			for x := 0; x < 10; x++ {
				for c := 0; c < 3; c++ {
					want := raDefault.PadVal[c]
					if sx := x + tc.shift; sx >= 0 && sx < 10 {
						want = uint8(10*sx + y + 100*c)
					}
					if g := got.Pix[(y*10+x)*3+c]; g != want {
						t.Fatalf("Translate(%v) at (%d,%d,%d) = %d, want %d", tc.mag, x, y, c, g, want)
					}
				}
			}
		}
	}
	// vertical: height 4, magnitude 0.25 → ty = 1 → out(y) = in(y + 1).
	src := raTestImage(3, 4, func(x, y, c int) uint8 { return uint8(10*y + x) })
	got := raDefault.ApplyOp(src.Clone(), raOp("Translate", "vertical"), 0.25)
	for y := 0; y < 4; y++ {
		for x := 0; x < 3; x++ {
			want := raDefault.PadVal[0]
			if y+1 < 4 {
				want = uint8(10*(y+1) + x)
			}
			if g := got.Pix[(y*3+x)*3]; g != want {
				t.Fatalf("Translate vertical at (%d,%d) = %d, want %d", x, y, g, want)
			}
		}
	}
}

func TestRandAugmentRotate(t *testing.T) {
	// Image.rotate(90) (counter-clockwise) of a 4×4 image: the AFFINE
	// matrix is (0, −1, 4, 1, 0, 0), so out(x, y) = in(3 − y, x).
	src := raTestImage(4, 4, func(x, y, c int) uint8 { return uint8(16*y + x + c) })
	got := rotatePIL(src.Clone(), 90, raDefault.PadVal)
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			want := src.Pix[(x*4+(3-y))*3]
			if g := got.Pix[(y*4+x)*3]; g != want {
				t.Fatalf("rotate 90 at (%d,%d) = %d, want %d", x, y, g, want)
			}
		}
	}
	// 30°: corners come from outside the image and get pad_val (B, G, R);
	// the centre pixel stays.
	src = raTestImage(9, 9, func(x, y, c int) uint8 { return 200 })
	got = raDefault.ApplyOp(src, raOp("Rotate", ""), 30)
	if p := got.Pix[0:3]; p[0] != 1 || p[1] != 2 || p[2] != 3 {
		t.Errorf("rotated corner = %v, want pad (1, 2, 3)", p)
	}
	if p := got.Pix[(4*9+4)*3]; p != 200 {
		t.Errorf("rotated centre = %d, want 200", p)
	}
}

func TestRandAugmentShear(t *testing.T) {
	// Horizontal shear 0.5, bicubic (PIL, a = −1) on the ramp in = 10·x:
	// pixel (2, 0) reads x = 2.5 + 0.5·0.5 = 2.75 → taps 1..4 (10..40),
	// d = 0.25: 20 + .25·(20 + .25·(−30 + .25·20)) = 23.4375 → 23.
	src := raTestImage(8, 2, func(x, y, c int) uint8 { return uint8(10 * x) })
	got := raDefault.ApplyOp(src.Clone(), raOp("Shear", "horizontal"), 0.5)
	if g := got.Pix[(0*8+2)*3]; g != 23 {
		t.Errorf("sheared (2,0) = %d, want 23", g)
	}
	// Pixels whose source x = x + ½ + 0.5·(y + ½) is ≥ 8 are pad.
	for y := 0; y < 2; y++ {
		for x := 0; x < 8; x++ {
			xs := float64(x) + 0.5 + 0.5*(float64(y)+0.5)
			isPad := got.Pix[(y*8+x)*3] == 1 && got.Pix[(y*8+x)*3+1] == 2 && got.Pix[(y*8+x)*3+2] == 3
			if (xs >= 8) != isPad {
				t.Errorf("shear pad at (%d,%d): source %v, pad %v", x, y, xs, isPad)
			}
		}
	}
	// Magnitude 0 is the identity (d = 0 picks the tap exactly).
	got = raDefault.ApplyOp(src.Clone(), raOp("Shear", "vertical"), 0)
	for i, v := range src.Pix {
		if got.Pix[i] != v {
			t.Fatalf("shear 0 changed the image")
		}
	}
}

func TestRandAugmentFactoryAndSampling(t *testing.T) {
	r := DefaultRegistry()
	RegisterRandAugment(r)
	p, err := r.NewPipeline([]map[string]any{{"type": "RandAugment", "policies": "timm_increasing", "num_policies": 2.0,
		"total_level": 10.0, "magnitude_level": 7.0, "magnitude_std": 0.5,
		"hparams": map[string]any{"pad_val": []any{104.0, 116.0, 124.0}, "interpolation": "bicubic"}}})
	if err != nil {
		t.Fatal(err)
	}
	ra := p.Steps[0].(*RandAugment)
	if len(ra.Ops) != 15 || ra.PadVal != [3]uint8{104, 116, 124} || ra.MagnitudeStd != 0.5 {
		t.Fatalf("parsed %+v", ra)
	}
	if _, err := r.NewPipeline([]map[string]any{{"type": "RandAugment", "policies": "timm_increasing", "magnitude_level": 7.0, "bogus": 1.0}}); err == nil {
		t.Error("unknown key accepted")
	}
	// Replaying the draws (two indices, then per op: magnitude, enable,
	// sign for signed ops) with ApplyOp gives the same image.
	src := raTestImage(12, 10, func(x, y, c int) uint8 { return uint8((x*37 + y*11 + c*50) % 256) })
	changed := 0
	for seed := uint64(0); seed < 40; seed++ {
		got, err := ra.Apply(src.Clone(), rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		i0, i1 := rng.IntN(15), rng.IntN(15)
		want := src.Clone()
		for _, i := range []int{i0, i1} {
			op := ra.Ops[i]
			level := min(max(7+0.5*rng.NormFloat64(), 0), 10)
			mag := level/10*(op.Max-op.Min) + op.Min
			if rng.Float64() > 0.5 {
				continue
			}
			if isSignedOp(op.Type) && rng.Float64() < 0.5 {
				mag = -mag
			}
			want = ra.ApplyOp(want, op, mag)
		}
		for i := range want.Pix {
			if want.Pix[i] != got.Pix[i] {
				t.Fatalf("seed %d: Apply differs from the replayed draws", seed)
			}
		}
		for i := range src.Pix {
			if got.Pix[i] != src.Pix[i] {
				changed++
				break
			}
		}
	}
	// P(no op applied) = 1/4: most of 40 images change.
	if changed < 20 {
		t.Errorf("only %d of 40 images changed", changed)
	}
}
