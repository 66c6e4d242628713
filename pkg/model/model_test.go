package model

import "testing"

// Parameter counts and FLOPs of configs/mobileone/metafile.yml (deploy) and
// the mmcls-1.x README "train" column, re-derived in the spec (§1.9, §1.11).
func TestParamsAndFLOPsMatchMetafile(t *testing.T) {
	cases := []struct {
		arch                       string
		trainParams, deployParams  int
		deployFLOPs                int
		trainKeys, deployKeys, cls int
	}{
		{"s0", 5293272, 2078504, 274136576, 1323, 88, 1000},
		{"s1", 4825192, 4764840, 823839744, 562, 88, 1000},
		{"s2", 7884648, 7808168, 1296478848, 562, 88, 1000},
		{"s3", 10170600, 10078312, 1893842944, 562, 88, 1000},
		{"s4", 14951248, 14838352, 2979222528, 610, 136, 1000},
	}
	for _, c := range cases {
		train, err := New(Config{Arch: ArchZoo[c.arch], NumClasses: c.cls})
		if err != nil {
			t.Fatal(err)
		}
		deploy, err := New(Config{Arch: ArchZoo[c.arch], NumClasses: c.cls, Deploy: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := train.NumParams(); got != c.trainParams {
			t.Errorf("%s train params = %d, want %d", c.arch, got, c.trainParams)
		}
		if got := deploy.NumParams(); got != c.deployParams {
			t.Errorf("%s deploy params = %d, want %d", c.arch, got, c.deployParams)
		}
		if got := len(train.StateDict()); got != c.trainKeys {
			t.Errorf("%s train keys = %d, want %d", c.arch, got, c.trainKeys)
		}
		if got := len(deploy.StateDict()); got != c.deployKeys {
			t.Errorf("%s deploy keys = %d, want %d", c.arch, got, c.deployKeys)
		}
		cx, err := deploy.Complexity(224, 224)
		if err != nil {
			t.Fatal(err)
		}
		if cx.FLOPs != c.deployFLOPs {
			t.Errorf("%s deploy FLOPs = %d, want %d", c.arch, cx.FLOPs, c.deployFLOPs)
		}
		tcx, _ := train.Complexity(224, 224)
		t.Logf("%s train FLOPs %.3fG", c.arch, float64(tcx.FLOPs)/1e9)
	}
}
