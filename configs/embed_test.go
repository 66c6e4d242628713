package configs

import (
	"io/fs"
	"strings"
	"testing"
)

// TestTree checks that every file of mmpretrain's MobileOne config tree is
// embedded, including the _base_ folder that a plain //go:embed pattern
// would drop.
func TestTree(t *testing.T) {
	want := []string{
		"_base_/default_runtime.py",
		"_base_/datasets/imagenet_bs32_pil_resize.py",
		"_base_/schedules/imagenet_bs256_coslr_coswd_300e.py",
	}
	for _, n := range []string{"0", "1", "2", "3", "4"} {
		want = append(want,
			"_base_/models/mobileone/mobileone_s"+n+".py",
			"mobileone/mobileone-s"+n+"_8xb32_in1k.py",
			"mobileone/deploy/mobileone-s"+n+"_deploy_8xb32_in1k.py",
		)
	}
	for _, p := range want {
		b, err := fs.ReadFile(FS, p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(b) == 0 {
			t.Errorf("%s: empty", p)
		}
	}
	var got int
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".py") {
			got++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got < len(want) {
		t.Errorf("embedded %d .py files, want at least mmpretrain's %d", got, len(want))
	}
}
