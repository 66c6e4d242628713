package imagenet

import "fmt"

// Normalizer is mmpretrain's ClsDataPreprocessor for 3-channel uint8
// images: optionally reverse the channels (ToRGB: BGR → RGB), convert to
// float32 and compute (x - Mean[c]) / Std[c], a true float32 division.
// Mean and Std are indexed by output channel, i.e. RGB order when ToRGB is
// set, on the 0–255 scale (no /255).
type Normalizer struct {
	Mean, Std [3]float32
	ToRGB     bool
}

// ImageNetNormalizer is the MobileOne configs' data_preprocessor:
// mean [123.675, 116.28, 103.53], std [58.395, 57.12, 57.375], to_rgb=True.
func ImageNetNormalizer() Normalizer {
	return Normalizer{
		Mean:  [3]float32{123.675, 116.28, 103.53},
		Std:   [3]float32{58.395, 57.12, 57.375},
		ToRGB: true,
	}
}

// NewNormalizer builds a Normalizer from config values (float64 lists as
// decoded from JSON), rounding them to float32 as torch.tensor does.
func NewNormalizer(mean, std []float64, toRGB bool) (Normalizer, error) {
	if len(mean) != 3 || len(std) != 3 {
		return Normalizer{}, FormatError(fmt.Sprintf("data_preprocessor mean/std need 3 values, got %d and %d", len(mean), len(std)))
	}
	n := Normalizer{ToRGB: toRGB}
	for c := 0; c < 3; c++ {
		n.Mean[c], n.Std[c] = float32(mean[c]), float32(std[c])
	}
	return n, nil
}

// lut returns the normalized value of every byte for each output
// channel: lut[c][v] = (float32(v) - Mean[c]) / Std[c], each step rounded
// to float32 as PyTorch's separate sub and div kernels do. A table of the
// 256 possible results gives the same bits as computing every sample.
func (n Normalizer) lut() (t [3][256]float32) {
	for c := range t {
		m, s := n.Mean[c], n.Std[c]
		for v := range t[c] {
			// Explicit conversions keep each step rounded to float32 (no
			// fusing).
			t[c][v] = float32(float32(v)-m) / s
		}
	}
	return t
}

// ToCHW writes img as a normalized float32 [3, H, W] tensor into dst,
// which must hold 3*H*W values.
func (n Normalizer) ToCHW(dst []float32, img *Image) {
	img.check("source")
	hw := img.Width * img.Height
	if len(dst) < 3*hw {
		panic(fmt.Sprintf("imagenet: ToCHW dst has %d values, need %d", len(dst), 3*hw))
	}
	t := n.lut()
	l0, l1, l2 := &t[0], &t[1], &t[2]
	d0, d1, d2 := dst[:hw], dst[hw:2*hw], dst[2*hw:3*hw]
	pix := img.Pix[:3*hw]
	if n.ToRGB { // output channel c is byte 2-c of a BGR pixel
		for i := range d0 {
			p := pix[3*i : 3*i+3 : 3*i+3]
			d0[i], d1[i], d2[i] = l0[p[2]], l1[p[1]], l2[p[0]]
		}
		return
	}
	for i := range d0 {
		p := pix[3*i : 3*i+3 : 3*i+3]
		d0[i], d1[i], d2[i] = l0[p[0]], l1[p[1]], l2[p[2]]
	}
}
