package printconfig

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

// print-config --json equals mmengine's Config.to_dict() of the same file,
// as upstream dumped it (testdata/configs/*.json, copied from the shared
// fixtures).
func TestPrintConfigJSONMatchesMMEngine(t *testing.T) {
	for name, fixture := range map[string]string{
		"mobileone-s0_8xb32_in1k":        "configs/s0_train.json",
		"mobileone-s0_deploy_8xb32_in1k": "configs/s0_deploy.json",
		"mobileone-s1_8xb32_in1k":        "configs/s1_train.json",
		"mobileone-s1_deploy_8xb32_in1k": "configs/s1_deploy.json",
	} {
		ios, _, out, _ := cmdutil.Test()
		if err := run(&Options{IO: ios, Config: name, JSON: true}); err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(fixtures.Testdata(t, fixture))
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(out.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: JSON differs from mmengine's", name)
		}
		if !bytes.Equal(bytes.TrimSpace(out.Bytes()), bytes.TrimSpace(want)) {
			t.Errorf("%s: JSON text differs from Python's json.dumps", name)
		}
	}
}

func TestPrintConfigOptionsAndText(t *testing.T) {
	ios, _, out, _ := cmdutil.Test()
	err := run(&Options{IO: ios, Config: "mobileone-s0_8xb32_in1k", CfgOptions: []string{"model.head.num_classes=10", "train_dataloader.batch_size=64"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"num_classes=10", "batch_size=64", "type='MobileOne'", "arch='s0'"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q", s)
		}
	}
	ios, _, out, _ = cmdutil.Test()
	if err := run(&Options{IO: ios, List: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "mobileone-s4_deploy_8xb32_in1k\n") {
		t.Errorf("--list: %s", out)
	}
}

func TestPrintConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := dir + "/bad.py"
	os.WriteFile(bad, []byte("model = dict(\n    type='ImageClassifier',\n    backbone=dict(type=undefined_name))\n"), 0o644)
	for _, c := range []struct {
		opts Options
		want []string
	}{
		{Options{Config: bad}, []string{"bad.py:3", "undefined_name"}},
		{Options{Config: "mobileone-s0_8xb32_in1k", CfgOptions: []string{"novalue"}}, []string{"--cfg-options", "novalue"}},
		{Options{Config: dir + "/missing.py"}, []string{"missing.py"}},
	} {
		ios, _, _, _ := cmdutil.Test()
		c.opts.IO = ios
		err := run(&c.opts)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: err = %v, want %q", c.opts, err, w)
			}
		}
	}
}
