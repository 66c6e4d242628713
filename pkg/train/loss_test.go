package train

import (
	"math"
	"testing"

	"github.com/mobileone-go/mobileone/pkg/model"
)

// loss_weight scales the loss and its gradient as mmpretrain's losses do:
// unset is 1, an explicit 0 makes both zero (it was once read as unset), 2
// doubles them, for both loss types.
func TestLossWeight(t *testing.T) {
	logits := &model.Tensor{Shape: []int{2, 3}, Data: []float32{1, -0.5, 2, 0.25, 0.75, -1}}
	labels := []int{2, 0}
	w := func(v float64) *float64 { return &v }
	for _, mk := range []func(*float64) Loss{
		func(lw *float64) Loss { return CrossEntropyLoss{LossWeight: lw} },
		func(lw *float64) Loss { return LabelSmoothLoss{LabelSmoothVal: 0.1, LossWeight: lw} },
	} {
		base, g1, err := mk(nil).Forward(logits, labels)
		if err != nil {
			t.Fatal(err)
		}
		if one, _, _ := mk(w(1)).Forward(logits, labels); one != base || base <= 0 {
			t.Errorf("%T: loss_weight 1 gives %v, unset %v", mk(nil), one, base)
		}
		zero, g0, _ := mk(w(0)).Forward(logits, labels)
		two, g2, _ := mk(w(2)).Forward(logits, labels)
		if zero != 0 || math.Abs(two-2*base) > 1e-12 {
			t.Errorf("%T: loss_weight 0 / 2 give %v / %v, want 0 / %v", mk(nil), zero, two, 2*base)
		}
		for i, v := range g1.Data {
			if g0.Data[i] != 0 || math.Abs(float64(g2.Data[i]-2*v)) > 1e-7 {
				t.Errorf("%T: gradient %d: weight 0 %v, weight 2 %v, weight 1 %v", mk(nil), i, g0.Data[i], g2.Data[i], v)
			}
		}
	}
}
