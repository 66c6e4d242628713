package train

import (
	"io"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone') loads
// the checkpoint's backbone.* keys into the backbone and leaves the head as
// initialized; a prefix that matches nothing is an error naming the file.
func TestPretrainedInitWithPrefix(t *testing.T) {
	m0, _ := tinyModel(t)
	m, err := model.New(m0.Config)
	if err != nil {
		t.Fatal(err)
	}
	m.InitWeights(rand.New(rand.NewSource(1)))
	head := slices.Clone(m.Head.FC.Weight.Data)
	r := &Runner{log: io.Discard, now: time.Now, Model: m}
	ckpt := fixtures.Testdata(t, "checkpoint/tiny_train.pth")
	if err := r.loadPretrained(PretrainedInit{Module: "backbone", Checkpoint: ckpt, Prefix: "backbone"}); err != nil {
		t.Fatal(err)
	}
	want := loadStateDict(t, ckpt)
	n := 0
	for _, e := range m.StateDict() {
		if !strings.HasPrefix(e.Key, "backbone.") || e.Tensor == nil {
			continue
		}
		if !slices.Equal(e.Tensor.Data, want.Tensors[e.Key].F32) {
			t.Fatalf("%s not loaded", e.Key)
		}
		n++
	}
	if n < 100 || !slices.Equal(m.Head.FC.Weight.Data, head) || slices.Equal(head, want.Tensors["head.fc.weight"].F32) {
		t.Errorf("%d backbone tensors loaded; head kept: %v", n, slices.Equal(m.Head.FC.Weight.Data, head))
	}
	err = r.loadPretrained(PretrainedInit{Module: "backbone", Checkpoint: ckpt, Prefix: "encoder"})
	if err == nil || !strings.Contains(err.Error(), "tiny_train.pth") || !strings.Contains(err.Error(), `prefix "encoder"`) {
		t.Errorf("unmatched prefix: %v", err)
	}
}
