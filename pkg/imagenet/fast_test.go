package imagenet

import (
	"math/rand/v2"
	"testing"
)

// TestSumsFitByte: the no-clamp kernels are chosen only when no sum can
// leave [0, 256<<precisionBits).
func TestSumsFitByte(t *testing.T) {
	one := int32(1 << precisionBits)
	for _, c := range []struct {
		k    []int32
		want bool
	}{
		{[]int32{one}, true},
		{[]int32{one / 2, one / 2}, true},
		{[]int32{one/2 + 4000, one/2 + 4000}, true}, // 255*(2^22+8000) + 2^21 < 2^30
		{[]int32{one/2 + 5000, one/2 + 5000}, false},
		{[]int32{one + one/10, -one / 10}, false}, // a negative lobe
		{[]int32{0, 0, one}, true},
	} {
		if got := sumsFitByte(c.k); got != c.want {
			t.Errorf("sumsFitByte(%v) = %v, want %v", c.k, got, c.want)
		}
	}
}

// TestNormalizerTable: the table-driven ToCHW equals the per-sample
// float32 formula for every byte value, with random means and stds.
func TestNormalizerTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	img := NewImage(256, 3)
	for i := 0; i < 256; i++ {
		for c := 0; c < 3; c++ {
			img.Pix[3*(0*256+i)+c] = byte(i)
			img.Pix[3*(1*256+i)+c] = byte(255 - i)
			img.Pix[3*(2*256+i)+c] = byte(rng.IntN(256))
		}
	}
	x := make([]float32, 3*256*3)
	for trial := 0; trial < 20; trial++ {
		n := Normalizer{ToRGB: trial%2 == 0}
		for c := 0; c < 3; c++ {
			n.Mean[c] = float32(rng.Float64() * 255)
			n.Std[c] = float32(0.01 + rng.Float64()*100)
		}
		if trial == 0 {
			n = ImageNetNormalizer()
		}
		n.ToCHW(x, img)
		hw := img.Width * img.Height
		for c := 0; c < 3; c++ {
			b := c
			if n.ToRGB {
				b = 2 - c
			}
			for i := 0; i < hw; i++ {
				want := float32(float32(img.Pix[3*i+b])-n.Mean[c]) / n.Std[c]
				if got := x[c*hw+i]; got != want {
					t.Fatalf("trial %d channel %d sample %d: %v, want %v", trial, c, i, got, want)
				}
			}
		}
	}
}
