package imagenet

import (
	"testing"
)

// The metainfo of mmpretrain's s0 test pipeline (ResizeEdge 256 + center
// crop 224) on a 410x182 image: upstream's s0_deploy_preds.pkl holds
// scale_factor (576/410, 256/182), img_shape (224, 224), ori_shape (182,
// 410) for ILSVRC2012_val_00000001. The fused and the step-by-step paths
// agree.
func TestPipelineMeta(t *testing.T) {
	steps := []map[string]any{
		{"type": "ResizeEdge", "scale": 256, "edge": "short", "backend": "pillow", "interpolation": "bicubic"},
		{"type": "CenterCrop", "crop_size": 224},
		{"type": "PackInputs"},
	}
	p, err := NewPipeline(steps)
	if err != nil {
		t.Fatal(err)
	}
	want := Meta{OriShape: [2]int{182, 410}, ImgShape: [2]int{224, 224}, ScaleFactor: [2]float64{1.4048780487804877, 1.4065934065934067}, Scaled: true}
	var fused Meta
	if _, err := p.apply(NewImage(410, 182), nil, nil, &fused); err != nil {
		t.Fatal(err)
	}
	if fused != want {
		t.Errorf("fused: %+v, want %+v", fused, want)
	}
	// Step by step (PackInputs between the two prevents the fusion).
	p2, err := NewPipeline([]map[string]any{steps[0], steps[2], steps[1]})
	if err != nil {
		t.Fatal(err)
	}
	var plain Meta
	if _, err := p2.apply(NewImage(410, 182), nil, nil, &plain); err != nil {
		t.Fatal(err)
	}
	if plain != want {
		t.Errorf("step by step: %+v, want %+v", plain, want)
	}
	// Without a resize there is no scale factor.
	p3, _ := NewPipeline([]map[string]any{steps[1]})
	var crop Meta
	if _, err := p3.apply(NewImage(300, 250), nil, nil, &crop); err != nil || crop.Scaled || crop.ImgShape != [2]int{224, 224} || crop.OriShape != [2]int{250, 300} {
		t.Errorf("crop only: %+v (%v)", crop, err)
	}
}
