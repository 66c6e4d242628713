// Package flops implements `mobileone flops`, mmpretrain's
// tools/analysis_tools/get_flops.py for MobileOne.
package flops

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// Options are the parsed arguments of flops.
type Options struct {
	IO         *cmdutil.IOStreams
	Config     string
	CfgOptions []string
	H, W       int
	JSON       bool
}

// NewCmdFlops returns the flops command.
func NewCmdFlops(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	var shape []int
	cmd := &cobra.Command{
		Use:   "flops CONFIG",
		Short: "Count the parameters and FLOPs of a config's model",
		Long: `Count parameters and FLOPs as mmpretrain's get_flops.py does (and as
configs/mobileone/metafile.yml reports them): one FLOP per multiply-accumulate of
every conv, one per element of every average pool, two per element of each
eval-mode BatchNorm; the classification head is listed but not counted.
Deploy configs give the metafile's numbers (s0: 274,136,576 FLOPs, 2,078,504 params).`,
		Example: `  mobileone flops mobileone-s0_deploy_8xb32_in1k
  mobileone flops mobileone-s4_8xb32_in1k --shape 256
  mobileone flops my_config.py --shape 160,192 --json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: printconfig.CompleteConfig,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = args[0]
			var err error
			if opts.H, opts.W, err = cmdutil.ParseShape(shape); err != nil {
				return err
			}
			if opts.H < 1 || opts.W < 1 {
				return cmdutil.FlagErrorf("--shape must be positive, got %dx%d", opts.H, opts.W)
			}
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	cmd.Flags().IntSliceVar(&shape, "shape", []int{224}, "input size H or H,W")
	cmd.Flags().StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the counts as JSON")
	return cmd
}

func run(opts *Options) error {
	cfg, mc, err := setup.Load(opts.Config, opts.CfgOptions)
	if err != nil {
		return err
	}
	m, err := model.New(mc)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Filename, err)
	}
	cx, err := m.Complexity(opts.H, opts.W)
	if err != nil {
		return err
	}
	if opts.JSON {
		type row struct {
			Name   string `json:"name"`
			Params int    `json:"params"`
			FLOPs  int    `json:"flops"`
			Output []int  `json:"output_shape"`
		}
		out := struct {
			Config    string `json:"config"`
			Input     [3]int `json:"input_shape"`
			Deploy    bool   `json:"deploy"`
			FLOPs     int    `json:"flops"`
			Params    int    `json:"params"`
			HeadFLOPs int    `json:"head_flops"`
			Rows      []row  `json:"rows"`
		}{Config: cfg.Filename, Input: cx.Input, Deploy: mc.Deploy, FLOPs: cx.FLOPs, Params: cx.Params, HeadFLOPs: cx.HeadFLOPs}
		for _, r := range cx.Rows {
			out.Rows = append(out.Rows, row{r.Name, r.Params, r.FLOPs, r.Output})
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintln(opts.IO.Out, string(b))
		return nil
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "module\tparams\tFLOPs\toutput shape\t")
	for _, r := range cx.Rows {
		fl := group(r.FLOPs)
		if r.Name == "head" {
			fl = "(" + group(cx.HeadFLOPs) + ", not counted)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.Name, group(r.Params), fl, shapeString(r.Output))
	}
	tw.Flush()
	line := strings.Repeat("=", 30)
	graph := "train-time (multi-branch)"
	if mc.Deploy {
		graph = "deploy (reparameterized)"
	}
	fmt.Fprintf(opts.IO.Out, "%s\nModel: %s, %s graph\nInput shape: (3, %d, %d)\nFlops: %s (%s)\nParams: %s (%s)\n%s\n",
		line, cfg.Filename, graph, opts.H, opts.W, human(cx.FLOPs), group(cx.FLOPs), human(cx.Params), group(cx.Params), line)
	return nil
}

// human prints a count the way mmengine's flops/params strings do
// (three decimals with a K/M/G/T suffix).
func human(n int) string {
	v := float64(n)
	for _, u := range []struct {
		div float64
		suf string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "K"}} {
		if v >= u.div {
			return strconv.FormatFloat(v/u.div, 'f', 3, 64) + u.suf
		}
	}
	return strconv.Itoa(n)
}

// group writes n with thousands separators.
func group(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
