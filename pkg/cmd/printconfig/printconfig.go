// Package printconfig implements `mobileone print-config`, mmpretrain's
// tools/misc/print_config.py.
package printconfig

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/config"
)

// Options are the parsed arguments of print-config.
type Options struct {
	IO         *cmdutil.IOStreams
	Config     string
	CfgOptions []string
	JSON       bool
	List       bool
}

// NewCmdPrintConfig returns the print-config command. runF replaces the
// run function in tests.
func NewCmdPrintConfig(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "print-config CONFIG",
		Short: "Print the effective config after _base_ inheritance and --cfg-options",
		Long: `Print the effective config, as mmpretrain's tools/misc/print_config.py does:
the file with its _base_ files merged and --cfg-options applied, in Python syntax,
or with --json as the JSON object of mmengine's Config.to_dict().`,
		Example: `  mobileone print-config mobileone-s0_8xb32_in1k
  mobileone print-config configs/mobileone/mobileone-s1_8xb32_in1k.py --json
  mobileone print-config mobileone-s0_8xb32_in1k --cfg-options train_dataloader.batch_size=64
  mobileone print-config --list`,
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.List {
				if len(args) > 0 {
					return cmdutil.FlagErrorf("--list takes no CONFIG argument")
				}
				return nil
			}
			if len(args) != 1 {
				return cmdutil.FlagErrorf("print-config takes one CONFIG argument, got %d", len(args))
			}
			return nil
		},
		ValidArgsFunction: CompleteConfig,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Config = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable; mmengine syntax, e.g. model.head.num_classes=10)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the config as JSON (mmengine Config.to_dict())")
	cmd.Flags().BoolVar(&opts.List, "list", false, "list the built-in config names")
	return cmd
}

// CompleteConfig completes CONFIG arguments with the built-in config names
// (and files, which the shell offers itself).
func CompleteConfig(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var out []string
	for _, n := range config.BuiltinNames() {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveDefault
}

func run(opts *Options) error {
	if opts.List {
		for _, n := range config.BuiltinNames() {
			fmt.Fprintln(opts.IO.Out, n)
		}
		return nil
	}
	cfg, err := config.LoadWithOptions(opts.Config, opts.CfgOptions)
	if err != nil {
		return err
	}
	if opts.JSON {
		b, err := cfg.JSON()
		if err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.Out, string(b))
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "Config:\n%s\n", cfg.PrettyText())
	return nil
}
