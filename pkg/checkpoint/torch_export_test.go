package checkpoint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// TestWriteFilesForTorch writes Go-made checkpoints into
// $CHECKPOINT_TORCH_DIR for `gen_fixtures.py verify DIR`, which loads them
// with torch (default and weights_only=True) and checks their contents (see
// testdata/checkpoint/README.md). Without the variable it only checks that
// writing works.
func TestWriteFilesForTorch(t *testing.T) {
	dir := os.Getenv("CHECKPOINT_TORCH_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	save := func(name string, root *Dict) {
		t.Helper()
		if err := Save(filepath.Join(dir, name), root); err != nil {
			t.Fatal(err)
		}
	}
	save("sample.pth", sampleRoot())
	withFloat := sampleRoot()
	withFloat.Dict("meta").Set("lr", 0.1)
	save("sample_floats.pth", withFloat)

	for _, name := range []string{"tiny_train", "tiny_deploy"} {
		f, err := Load(fixtures.Testdata(t, "checkpoint/"+name+".pth"))
		if err != nil {
			t.Fatal(err)
		}
		save(name+"_resaved.pth", f.Root.(*Dict))
	}
	f, err := Load(fixtures.Testdata(t, "checkpoint/optimizer_base_lr.pth"))
	if err != nil {
		t.Fatal(err)
	}
	save("optimizer_resaved_floats.pth", f.Root.(*Dict))

	// nn.Sequential(Conv2d(3,4,3), BatchNorm2d(4), Flatten, Linear(4*2*2, 2))
	// keys, with values i*0.5 so the checker can recompute them.
	var entries []model.Entry
	var counter int64 = 5
	add := func(key string, kind model.Kind, shape ...int) {
		if kind == model.Counter {
			entries = append(entries, model.Entry{Key: key, Kind: kind, Count: &counter})
			return
		}
		tn := model.NewTensor(shape...)
		for i := range tn.Data {
			tn.Data[i] = float32(i) * 0.5
		}
		entries = append(entries, model.Entry{Key: key, Kind: kind, Tensor: tn})
	}
	add("0.weight", model.Param, 4, 3, 3, 3)
	add("0.bias", model.Param, 4)
	add("1.weight", model.Param, 4)
	add("1.bias", model.Param, 4)
	add("1.running_mean", model.Buffer, 4)
	add("1.running_var", model.Buffer, 4)
	add("1.num_batches_tracked", model.Counter)
	add("3.weight", model.Param, 2, 16)
	add("3.bias", model.Param, 2)
	root := NewDict()
	meta := NewDict()
	meta.Set("epoch", int64(1))
	root.Set("meta", meta)
	root.Set("state_dict", FromEntries(entries))
	save("module.pth", root)
}
