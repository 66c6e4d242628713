package imagenet

import (
	"math/rand/v2"
	"testing"
)

// Thread-CPU timings of the preprocessing steps (run with
// MOBILEONE_TIMING=1 go test -run Timing -v ./pkg/imagenet/).

func TestTimingSteps(t *testing.T) {
	src := randomImage(rand.New(rand.NewPCG(1, 1)), 500, 375)
	dst := NewImage(341, 256)
	crop := NewImage(224, 224)
	r := NewResizer(341, 256, 500, 375)
	rect := CenterCropRect(341, 256, 224, 224)
	cpuTiming(t, "resize 500x375->341x256", 200, func() { r.Resize(dst, src) })
	cpuTiming(t, "crop 224", 200, func() { dst.CropInto(crop, rect) })
	fused := Bilinear.NewCropResizer(341, 256, 500, 375, rect)
	cpuTiming(t, "fused resize+crop 224", 200, func() { fused.Resize(crop, src) })
	x := make([]float32, 3*224*224)
	n := ImageNetNormalizer()
	cpuTiming(t, "normalize 224", 200, func() { n.ToCHW(x, crop) })
	p := mustPipeline(t, testPipelineSteps)
	cpuTiming(t, "pipeline (alloc)", 200, func() { p.Apply(src, nil) })
}

func TestTimingPasses(t *testing.T) {
	src := randomImage(rand.New(rand.NewPCG(1, 1)), 500, 375)
	mid := NewImage(341, 375)
	dst := NewImage(341, 256)
	rh := NewResizer(341, 375, 500, 375)
	rv := NewResizer(341, 256, 341, 375)
	cpuTiming(t, "horizontal 500x375->341x375", 200, func() { rh.Resize(mid, src) })
	cpuTiming(t, "vertical 341x375->341x256", 200, func() { rv.Resize(dst, mid) })
}

// TestTimingPerSample: thread CPU time of decode, test pipeline and
// normalization per image, over the 30 shared ImageNet JPEGs.
func TestTimingPerSample(t *testing.T) {
	files := imagenetFiles(t)
	p := mustPipeline(t, testPipelineSteps)
	norm := ImageNetNormalizer()
	x := make([]float32, 3*224*224)
	per := func(f func(data []byte)) func() {
		return func() {
			for _, d := range files {
				f(d)
			}
		}
	}
	dec := func(d []byte) *Image {
		m, err := Decode(d)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	cpuTiming(t, "30 x decode", 10, per(func(d []byte) { dec(d) }))
	cpuTiming(t, "30 x decode+pipeline+normalize", 10, per(func(d []byte) {
		m, err := p.Apply(dec(d), nil)
		if err != nil {
			t.Fatal(err)
		}
		norm.ToCHW(x, m)
	}))
}
