package analyzelogs

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/cmdtest"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/plotting"
)

func TestNewCmdParsesPlotCurve(t *testing.T) {
	for _, c := range []struct {
		args    string
		want    *PlotOptions
		wantErr string
	}{
		{args: "plot-curve a.json --out c.png",
			want: &PlotOptions{Logs: []string{"a.json"}, Keys: []string{"loss"}, Out: "c.png", Style: plotting.WhiteGrid, Width: 12, Height: 7}},
		{args: "plot_curve a.json b.json --keys loss --keys accuracy/top1 --legend w --legend x --legend y --legend z --title t --style darkgrid --window-size 8*5 --out c.png",
			want: &PlotOptions{Logs: []string{"a.json", "b.json"}, Keys: []string{"loss", "accuracy/top1"}, Legend: []string{"w", "x", "y", "z"},
				Title: "t", Out: "c.png", Style: plotting.DarkGrid, Width: 8, Height: 5}},
		{args: "plot-curve a.json", wantErr: "--out FILE.png is required"},
		{args: "plot-curve a.log --out c.png", wantErr: `log "a.log" is not a .json file`},
		{args: "plot-curve a.json --legend x --keys loss --keys lr --out c.png", wantErr: "--legend has 1 entries; 1 logs × 2 keys need 2"},
		{args: "plot-curve a.json --window-size 12x7 --out c.png", wantErr: "--window-size must be in format 'W*H'"},
		{args: "plot-curve a.json --window-size 0*7 --out c.png", wantErr: "must be positive"},
		{args: "plot-curve a.json --style seaborn --out c.png", wantErr: `unknown style "seaborn"`},
		{args: "plot-curve --out c.png", wantErr: "requires at least 1 arg"},
	} {
		var got *PlotOptions
		err := cmdtest.Execute(NewCmdAnalyzeLogs(cmdtest.Factory(), func(o *PlotOptions) error { got = o; return nil }, nil), strings.Fields(c.args)...)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.args, err, c.wantErr)
			}
			var fe *cmdutil.FlagError
			if err != nil && !errors.As(err, &fe) && !strings.Contains(c.wantErr, "requires") {
				t.Errorf("%s: %T, want a usage error", c.args, err)
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

func TestNewCmdParsesCalTrainTime(t *testing.T) {
	for args, want := range map[string]TimeOptions{
		"cal-train-time a.json":                           {Logs: []string{"a.json"}},
		"cal_train_time a.json b.json --include-outliers": {Logs: []string{"a.json", "b.json"}, IncludeOutliers: true},
	} {
		var got *TimeOptions
		if err := cmdtest.Execute(NewCmdAnalyzeLogs(cmdtest.Factory(), nil, func(o *TimeOptions) error { got = o; return nil }), strings.Fields(args)...); err != nil {
			t.Fatalf("%s: %v", args, err)
		}
		got.IO = nil
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("%s: got %+v, want %+v", args, *got, want)
		}
	}
}
