package checkpoint

import (
	"bytes"
	"testing"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

func TestMarshalPickleRoundTrip(t *testing.T) {
	d := NewDict()
	d.Set("img_path", "val/ILSVRC2012_val_00000001.JPEG")
	d.Set("sample_idx", int64(3))
	d.Set("pred_score", List{0.25, 0.75})
	d.Set("ok", true)
	d.Set("none", nil)
	b, err := MarshalPickle(List{d, Tuple{int64(-7), "é"}})
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0x80 || b[1] != 2 || b[len(b)-1] != '.' {
		t.Fatalf("not a protocol-2 pickle: % x", b[:2])
	}
	u := pickle.NewUnpickler(bytes.NewReader(b))
	v, err := u.Load()
	if err != nil {
		t.Fatal(err)
	}
	list := v.(*types.List)
	first := (*list)[0].(*types.Dict)
	if got, _ := first.Get("img_path"); got != "val/ILSVRC2012_val_00000001.JPEG" {
		t.Errorf("img_path = %v", got)
	}
	scores, _ := first.Get("pred_score")
	if s := *scores.(*types.List); s[0] != 0.25 || s[1] != 0.75 {
		t.Errorf("pred_score = %v", s)
	}
	tup := (*list)[1].(*types.Tuple)
	if tup.Get(0) != -7 || tup.Get(1) != "é" {
		t.Errorf("tuple = %v", tup)
	}
}
