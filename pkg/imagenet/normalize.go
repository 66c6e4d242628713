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

// ToCHW writes img as a normalized float32 [3, H, W] tensor into dst,
// which must hold 3*H*W values.
func (n Normalizer) ToCHW(dst []float32, img *Image) {
	img.check("source")
	hw := img.Width * img.Height
	if len(dst) < 3*hw {
		panic(fmt.Sprintf("imagenet: ToCHW dst has %d values, need %d", len(dst), 3*hw))
	}
	for c := 0; c < 3; c++ {
		src := c // byte offset of output channel c inside a BGR pixel
		if n.ToRGB {
			src = 2 - c
		}
		m, s := n.Mean[c], n.Std[c]
		out := dst[c*hw : (c+1)*hw]
		pix := img.Pix[src:]
		for i := range out {
			// Explicit conversions keep each step rounded to float32
			// (no fusing), as PyTorch's separate sub and div kernels do.
			out[i] = float32(float32(pix[3*i])-m) / s
		}
	}
}
