// Package analyzelogs implements `mobileone analyze-logs`, mmpretrain's
// tools/analysis_tools/analyze_logs.py: curves and training-time statistics
// from mmengine's scalar logs (vis_data/scalars.json).
package analyzelogs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/analysis/logs"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/plotting"
)

// PlotOptions are the parsed arguments of plot-curve.
type PlotOptions struct {
	IO            *cmdutil.IOStreams
	Logs          []string
	Keys, Legend  []string
	Title, Out    string
	Style         plotting.Style
	Width, Height float64 // inches
}

// TimeOptions are the parsed arguments of cal-train-time.
type TimeOptions struct {
	IO              *cmdutil.IOStreams
	Logs            []string
	IncludeOutliers bool
}

// NewCmdAnalyzeLogs returns the analyze-logs command with its two
// subcommands. runPlot and runTime replace the actions in tests.
func NewCmdAnalyzeLogs(f *cmdutil.Factory, runPlot func(*PlotOptions) error, runTime func(*TimeOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analyze-logs <task>",
		Short: "Plot curves and compute training times from scalars.json logs",
		Long: `Analyze the JSON-lines scalar logs that mmengine (and mobileone train) write to
<work_dir>/<timestamp>/vis_data/scalars.json, as mmpretrain's
tools/analysis_tools/analyze_logs.py does. A line with an "lr" key is a
training record, any other line a validation record.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCmdPlotCurve(f, runPlot), newCmdCalTrainTime(f, runTime))
	return cmd
}

var windowSize = regexp.MustCompile(`^(\d+)\*(\d+)$`)

func newCmdPlotCurve(f *cmdutil.Factory, runF func(*PlotOptions) error) *cobra.Command {
	opts := &PlotOptions{IO: f.IO}
	var style, window string
	cmd := &cobra.Command{
		Use:     "plot-curve LOG.json... [--keys KEY...] --out FILE.png",
		Aliases: []string{"plot_curve"},
		Short:   "Plot the curves of some keys of one or more logs into a PNG",
		Long: `Plot the curves of the given keys (default: loss) of each log, as
analyze_logs.py plot_curve does, into a PNG. A validation key (accuracy/top1,
accuracy/top5, ...) is plotted against the validation step (the epoch of
epoch-based runs); a training key (loss, lr, time, data_time, ...) against the
epoch (fractional, from the iteration) when the log has epochs, else the
iteration. Each key gets its own panel, stacked (upstream draws all keys on one
axis, which flattens a loss next to an accuracy in percent); within a panel
there is one curve per log. Legends default to <log name>_<key>; --legend gives
one entry per log and key, in the order log 1's keys, log 2's keys, ...
--keys and --legend take several values after one flag, as upstream.`,
		Example: `  mobileone analyze-logs plot-curve work_dirs/fmnist/*/vis_data/scalars.json --keys loss accuracy/top1 --out curves.png
  mobileone analyze-logs plot-curve run1.json run2.json --keys loss --legend run1 run2 --title "two runs" --out loss.png`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Logs = args
			if err := checkJSONNames(args); err != nil {
				return err
			}
			if len(opts.Keys) == 0 {
				return cmdutil.FlagErrorf("--keys needs at least one key")
			}
			if opts.Legend != nil && len(opts.Legend) != len(opts.Logs)*len(opts.Keys) {
				return cmdutil.FlagErrorf("--legend has %d entries; %d logs × %d keys need %d",
					len(opts.Legend), len(opts.Logs), len(opts.Keys), len(opts.Logs)*len(opts.Keys))
			}
			if opts.Out == "" {
				return cmdutil.FlagErrorf("--out FILE.png is required (there is no window to show the figure in)")
			}
			var err error
			if opts.Style, err = plotting.ParseStyle(style); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			m := windowSize.FindStringSubmatch(window)
			if m == nil {
				return cmdutil.FlagErrorf("--window-size must be in format 'W*H', got %q", window)
			}
			w, _ := strconv.Atoi(m[1])
			h, _ := strconv.Atoi(m[2])
			if w == 0 || h == 0 {
				return cmdutil.FlagErrorf("--window-size %q: width and height must be positive", window)
			}
			opts.Width, opts.Height = float64(w), float64(h)
			if runF != nil {
				return runF(opts)
			}
			return runPlotCurve(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Keys, "keys", []string{"loss"}, "the metrics to plot (several values after one --keys)")
	fl.StringVar(&opts.Title, "title", "", "title of the figure")
	fl.StringArrayVar(&opts.Legend, "legend", nil, "legend of each curve (default <log name>_<key>)")
	fl.StringVar(&style, "style", string(plotting.WhiteGrid), "style of the figure: whitegrid, darkgrid, white, dark or ticks (seaborn's names)")
	fl.StringVar(&opts.Out, "out", "", "the PNG file to write")
	fl.StringVar(&window, "window-size", "12*7", "size of the figure in inches, W*H (the height is per panel when there are several keys)")
	return cmd
}

func newCmdCalTrainTime(f *cmdutil.Factory, runF func(*TimeOptions) error) *cobra.Command {
	opts := &TimeOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:     "cal-train-time LOG.json...",
		Aliases: []string{"cal_train_time"},
		Short:   "Print the average time per training iteration",
		Long: `Print, per log, what analyze_logs.py cal_train_time prints: for logs with
epochs the slowest and fastest epoch by mean iteration time and the standard
deviation of the epoch means (the first record of each epoch is left out of its
mean unless --include-outliers), and the mean time of all training records.`,
		Example: `  mobileone analyze-logs cal-train-time work_dirs/fmnist/20240101_000000/vis_data/scalars.json`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Logs = args
			if err := checkJSONNames(args); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runCalTrainTime(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.IncludeOutliers, "include-outliers", false, "include the first value of every epoch when computing the average time")
	return cmd
}

// checkJSONNames mirrors upstream's `assert json_log.endswith('.json')`.
func checkJSONNames(paths []string) error {
	for _, p := range paths {
		if !strings.HasSuffix(p, ".json") {
			return cmdutil.FlagErrorf("log %q is not a .json file (give the scalars.json of a run)", p)
		}
	}
	return nil
}

func runCalTrainTime(opts *TimeOptions) error {
	loaded, err := loadAll(opts.Logs)
	if err != nil {
		return err
	}
	for i, lg := range loaded {
		tt, err := lg.CalTrainTime(opts.IncludeOutliers)
		if err != nil {
			return err
		}
		tt.Print(opts.IO.Out, opts.Logs[i])
	}
	return nil
}

func runPlotCurve(opts *PlotOptions) error {
	loaded, err := loadAll(opts.Logs)
	if err != nil {
		return err
	}
	fig := plotting.Figure{Width: opts.Width, Height: opts.Height, Style: opts.Style, Markers: true}
	if len(opts.Keys) > 1 {
		fig.Height = opts.Height * 0.6 * float64(len(opts.Keys))
	}
	// one panel per key, one curve per log in it; printed in upstream's
	// order (log by log, key by key)
	fig.Charts = make([]plotting.Chart, len(opts.Keys))
	for j, key := range opts.Keys {
		fig.Charts[j].YLabel = key
	}
	for i, lg := range loaded {
		for j, key := range opts.Keys {
			fmt.Fprintf(opts.IO.Out, "plot curve of %s, metric is %s\n", opts.Logs[i], key)
			c, err := lg.Curve(key)
			if err != nil {
				return err
			}
			label := logs.LegendName(opts.Logs[i], key)
			if opts.Legend != nil {
				label = opts.Legend[i*len(opts.Keys)+j]
			}
			ch := &fig.Charts[j]
			ch.XLabel = c.XLabel
			ch.Curves = append(ch.Curves, plotting.Curve{Label: label, X: c.X, Y: c.Y})
		}
	}
	fig.Charts[0].Title = opts.Title
	if err := plotting.WritePNG(opts.Out, fig); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "save curve to: %s\n", opts.Out)
	return nil
}

func loadAll(paths []string) ([]*logs.Log, error) {
	out := make([]*logs.Log, len(paths))
	for i, p := range paths {
		lg, err := logs.Load(p)
		if err != nil {
			return nil, err
		}
		out[i] = lg
	}
	return out, nil
}
