// Package evalmetric implements `mobileone eval-metric`, mmpretrain's
// tools/analysis_tools/eval_metric.py: evaluate a results pickle offline.
package evalmetric

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
)

// ItemSep joins the items of one --metric occurrence (root's nargs
// expansion keeps each occurrence's KEY=VALUE items together with it).
const ItemSep = "\x1f"

// Options are the parsed arguments of eval-metric.
type Options struct {
	IO      *cmdutil.IOStreams
	Results string
	Metrics [][]string // the KEY=VALUE items of each --metric
}

// NewCmdEvalMetric returns the eval-metric command.
func NewCmdEvalMetric(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	var metrics []string
	cmd := &cobra.Command{
		Use:   "eval-metric RESULTS.pkl --metric type=NAME [KEY=VALUE...] [--metric ...]",
		Short: "Evaluate a results pickle (test --out) offline with any metrics",
		Long: `Compute metrics from a results file of mobileone test --out or mmpretrain's
tools/test.py --out, as tools/analysis_tools/eval_metric.py does, and print them
as it does (rich.print of the metrics dict).

Each --metric is one metric config: KEY=VALUE items after the flag, values
parsed as mmengine's DictAction does ("topk=1,5" is a list, "thrs=(0.1,None)"
a tuple). The metric types are the config's: Accuracy (topk, thrs),
SingleLabelMetric (thrs, items, average, num_classes) and ConfusionMatrix
(num_classes), each with prefix and collect_device.`,
		Example: `  mobileone eval-metric preds.pkl --metric type=Accuracy topk=1,5
  mobileone eval-metric preds.pkl --metric type=SingleLabelMetric items=precision,recall average=None --metric type=Accuracy`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Results = args[0]
			if len(metrics) == 0 {
				return cmdutil.FlagErrorf("please specify at least one --metric (e.g. --metric type=Accuracy topk=1,5)")
			}
			opts.Metrics = nil
			for _, m := range metrics {
				opts.Metrics = append(opts.Metrics, strings.Split(m, ItemSep))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(opts)
		},
	}
	cmd.Flags().StringArrayVar(&metrics, "metric", nil, "a metric config: type=NAME and KEY=VALUE items after one --metric (repeatable)")
	return cmd
}

func run(opts *Options) error {
	dicts := make([]*config.Dict, len(opts.Metrics))
	for i, items := range opts.Metrics {
		d, err := evaluate.ParseMetricOptions(items)
		if err != nil {
			return &cmdutil.FlagError{Err: err}
		}
		dicts[i] = d
	}
	ev, err := evaluate.FromDicts("--metric", dicts)
	if err != nil {
		return err
	}
	preds, err := evaluate.LoadResults(opts.Results)
	if err != nil {
		return err
	}
	ms, err := evaluate.Offline(ev, preds)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Results, err)
	}
	fmt.Fprintln(opts.IO.Out, evaluate.PrettyDict(ms, evaluate.RichWidth))
	return nil
}
