package analyzeresults

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/cmdtest"
)

func TestNewCmdParses(t *testing.T) {
	for _, c := range []struct {
		args    string
		want    *Options
		wantErr string
	}{
		{args: "cfg.py preds.pkl --out-dir d",
			want: &Options{Config: "cfg.py", Result: "preds.pkl", OutDir: "d", TopK: 20}},
		{args: "cfg.py preds.json --out-dir d --topk 3 -r 2.5 --cfg-options a=1",
			want: &Options{Config: "cfg.py", Result: "preds.json", OutDir: "d", TopK: 3, RescaleFactor: 2.5, CfgOptions: []string{"a=1"}}},
		{args: "cfg.py preds.pkl", wantErr: "--out-dir is required"},
		{args: "cfg.py preds.csv --out-dir d", wantErr: "give the .pkl (or .json) results file"},
		{args: "cfg.py preds.pkl --out-dir d --topk -1", wantErr: "--topk must not be negative"},
		{args: "cfg.py preds.pkl --out-dir d --rescale-factor -2", wantErr: "--rescale-factor must be positive"},
		{args: "cfg.py --out-dir d", wantErr: "accepts 2 arg(s)"},
	} {
		var got *Options
		err := cmdtest.Execute(NewCmdAnalyzeResults(cmdtest.Factory(), func(o *Options) error { got = o; return nil }), strings.Fields(c.args)...)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.args, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.args, err)
		}
		got.IO = nil
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.args, got, c.want)
		}
	}
}
