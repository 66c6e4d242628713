package imagenet

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSteps times each test-pipeline step on one 500×375 image (the
// most common ImageNet shape): the full Pillow resize to 341×256, the
// crop to 224×224, the fused resize computing only the 224×224 window,
// the normalization to float32 CHW, and the whole pipeline. On a loaded
// machine, TestTiming* (MOBILEONE_TIMING=1) give steadier numbers.
func BenchmarkSteps(b *testing.B) {
	src := randomImage(rand.New(rand.NewPCG(1, 1)), 500, 375)
	b.Run("resize500x375to341x256", func(b *testing.B) {
		dst := NewImage(341, 256)
		r := NewResizer(341, 256, 500, 375)
		b.ReportAllocs()
		for b.Loop() {
			r.Resize(dst, src)
		}
	})
	b.Run("resize+crop", func(b *testing.B) {
		dst := NewImage(341, 256)
		crop := NewImage(224, 224)
		r := NewResizer(341, 256, 500, 375)
		rect := CenterCropRect(341, 256, 224, 224)
		b.ReportAllocs()
		for b.Loop() {
			r.Resize(dst, src)
			dst.CropInto(crop, rect)
		}
	})
	b.Run("resizecrop-fused", func(b *testing.B) {
		crop := NewImage(224, 224)
		r := Bilinear.NewCropResizer(341, 256, 500, 375, CenterCropRect(341, 256, 224, 224))
		b.ReportAllocs()
		for b.Loop() {
			r.Resize(crop, src)
		}
	})
	b.Run("normalize224", func(b *testing.B) {
		crop := randomImage(rand.New(rand.NewPCG(1, 2)), 224, 224)
		x := make([]float32, 3*224*224)
		n := ImageNetNormalizer()
		b.ReportAllocs()
		for b.Loop() {
			n.ToCHW(x, crop)
		}
	})
	b.Run("pipeline", func(b *testing.B) {
		p := mustPipeline(b, testPipelineSteps)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Apply(src, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
