// Package root assembles the mobileone command tree and turns a command's
// error into the process exit code.
package root

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/internal/atomicfile"
	"github.com/mobileone-go/mobileone/internal/memlimit"

	"github.com/mobileone-go/mobileone/pkg/cmd/analyzelogs"
	"github.com/mobileone-go/mobileone/pkg/cmd/analyzeresults"
	"github.com/mobileone-go/mobileone/pkg/cmd/benchmark"
	"github.com/mobileone-go/mobileone/pkg/cmd/confusionmatrix"
	"github.com/mobileone-go/mobileone/pkg/cmd/convert"
	"github.com/mobileone-go/mobileone/pkg/cmd/evalmetric"
	"github.com/mobileone-go/mobileone/pkg/cmd/export"
	"github.com/mobileone-go/mobileone/pkg/cmd/flops"
	"github.com/mobileone-go/mobileone/pkg/cmd/infer"
	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmd/reparameterize"
	servecmd "github.com/mobileone-go/mobileone/pkg/cmd/serve"
	testcmd "github.com/mobileone-go/mobileone/pkg/cmd/test"
	"github.com/mobileone-go/mobileone/pkg/cmd/train"
	"github.com/mobileone-go/mobileone/pkg/cmd/validate"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
)

// Version is the version --version prints, stamped at build time by
// `make build` (-ldflags "-X .../pkg/cmd/root.Version=$(git describe
// --tags --always --dirty)"). Left empty, the module version or the VCS
// revision from the build info is used, and "devel" when neither exists.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) >= 12 {
			if dirty {
				return "devel-" + rev[:12] + "-dirty"
			}
			return "devel-" + rev[:12]
		}
	}
	return "devel"
}

// NewCmdRoot returns the mobileone command with every subcommand.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mobileone <command>",
		Short: "Train, test, reparameterize and run MobileOne models with mmpretrain's configs and checkpoints",
		Long: `mobileone does for MobileOne what OpenMMLab mmpretrain's tools do in Python:
the same config files, the same .pth checkpoints (read and written), the same
preprocessing and the same metrics, in one static binary.

CONFIG arguments take a config file path or a built-in config name such as
mobileone-s0_8xb32_in1k or mobileone-s0_deploy_8xb32_in1k (see print-config --list).`,
		Version:       f.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SetIn(f.IO.In)
	var memLimit string
	cmd.PersistentFlags().StringVar(&memLimit, "memory-limit", "", "memory budget: jobs estimated to need more are refused (e.g. 8GiB, 50%; default: $"+memlimit.EnvVar+", GOMEMLIMIT or 80% of the machine's memory)")
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if memLimit == "" {
			return nil
		}
		if _, err := memlimit.Parse(memLimit); err != nil {
			return cmdutil.FlagErrorf("--memory-limit %q: %v", memLimit, err)
		}
		return os.Setenv(memlimit.EnvVar, memLimit)
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &cmdutil.FlagError{Err: err} })
	cmd.AddCommand(
		train.NewCmdTrain(f, nil),
		testcmd.NewCmdTest(f, nil),
		reparameterize.NewCmdReparameterize(f, nil),
		infer.NewCmdInfer(f, nil),
		printconfig.NewCmdPrintConfig(f, nil),
		flops.NewCmdFlops(f, nil),
		benchmark.NewCmdBenchmark(f, nil),
		analyzelogs.NewCmdAnalyzeLogs(f, nil, nil),
		analyzeresults.NewCmdAnalyzeResults(f, nil),
		export.NewCmdExport(f, nil),
		validate.NewCmdValidate(f, nil),
		convert.NewCmdConvert(f, nil),
		evalmetric.NewCmdEvalMetric(f, nil),
		confusionmatrix.NewCmdConfusionMatrix(f, nil),
		servecmd.NewCmdServe(f, nil),
	)
	argErrorsAreFlagErrors(cmd)
	return cmd
}

// argErrorsAreFlagErrors makes a wrong number of positional arguments a usage
// error (exit code 2, usage printed), like an unknown flag, for every command
// of the tree: cobra's validators (ExactArgs, MinimumNArgs, ...) return plain
// errors.
func argErrorsAreFlagErrors(cmd *cobra.Command) {
	if validate := cmd.Args; validate != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			err := validate(c, args)
			var fe *cmdutil.FlagError
			if err != nil && !errors.As(err, &fe) {
				return &cmdutil.FlagError{Err: err}
			}
			return err
		}
	}
	for _, sub := range cmd.Commands() {
		argErrorsAreFlagErrors(sub)
	}
}

// nargsFlag is how one flag of mmpretrain's tools takes argparse's values
// beyond pflag's one: its first value is the next argument (or the one
// after "="), further ones are the arguments that follow while more
// accepts them.
type nargsFlag struct {
	more func(arg string) bool
	// join, when not "", passes all the values on as one, joined by it
	// (nargs='+' with action='append'); otherwise each further value
	// becomes an item of its own flag (nargs='+').
	join string
	// optional is nargs='?': no value unless the next argument is
	// accepted by more, and never more than one.
	optional bool
	// command, when not "", limits the flag to that subcommand.
	command string
}

func notFlag(a string) bool  { return !strings.HasPrefix(a, "-") }
func keyValue(a string) bool { return notFlag(a) && strings.Contains(a, "=") }

// nargsFlags are the flags that take a number of values other than one,
// as in mmpretrain's tools.
var nargsFlags = map[string]nargsFlag{
	// mmengine's DictAction: KEY=VALUE items
	"--cfg-options": {more: keyValue},
	// analyze_logs.py plot_curve: any argument up to the next flag
	"--keys":   {more: notFlag},
	"--legend": {more: notFlag},
	// get_flops.py's --shape 224 224 (and benchmark's): integers
	"--shape": {more: func(a string) bool { _, err := strconv.ParseUint(a, 10, 31); return err == nil }},
	// eval_metric.py's --metric: the KEY=VALUE items after one --metric
	// are one metric config
	"--metric": {more: keyValue, join: evalmetric.ItemSep},
	// tools/train.py's --resume [CHECKPOINT]: bare, it resumes from the
	// work dir's last checkpoint
	"--resume": {more: notFlag, optional: true, command: "train"},
}

// ExpandNargs rewrites the flags of nargsFlags into pflag's forms, one
// value per flag: `--cfg-options a=1 b=2` becomes `--cfg-options a=1
// --cfg-options b=2`, `--metric type=Accuracy topk=1,5` one
// `--metric=type=Accuracy<ItemSep>topk=1,5`, and train's `--resume x.pth`
// `--resume=x.pth`. Arguments after "--" are left alone.
func ExpandNargs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, value, inline := strings.Cut(a, "=")
		nf, ok := nargsFlags[name]
		if !ok || !strings.HasPrefix(a, "--") || nf.command != "" && args[0] != nf.command || nf.optional && inline {
			out = append(out, a)
			continue
		}
		var values []string
		switch {
		case inline:
			values = append(values, value)
		case nf.optional:
			if i+1 < len(args) && nf.more(args[i+1]) {
				i++
				values = append(values, args[i])
			}
		case i+1 < len(args):
			i++
			values = append(values, args[i])
		}
		for !nf.optional && i+1 < len(args) && nf.more(args[i+1]) {
			i++
			values = append(values, args[i])
		}
		switch {
		case nf.join != "":
			out = append(out, name+"="+strings.Join(values, nf.join))
		case nf.optional && len(values) == 1:
			out = append(out, name+"="+values[0])
		case len(values) == 0:
			out = append(out, a)
		default:
			// the first value as it was given, the further ones as
			// items of their own flag
			if inline {
				out = append(out, a)
			} else {
				out = append(out, a, values[0])
			}
			for _, v := range values[1:] {
				out = append(out, name, v)
			}
		}
	}
	return out
}

// Main runs the command line of the process and returns its exit code.
func Main() int {
	f := cmdutil.NewFactory(version())
	ctx, stop := interruptContext(f.IO.ErrOut)
	defer stop()
	return Run(ctx, f, os.Args[1:])
}

// interruptContext returns a context cancelled by the first SIGINT or
// SIGTERM: every command watches it between images, batches, iterations
// and writes, stops, and exits with code 130 without replacing any output.
// A second signal exits at once (code 130), after removing the temporary
// files of the writes in progress, for a command stuck in a read that
// does not return (a FIFO, a hung network file system).
func interruptContext(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-ch; !ok {
			return
		}
		// The notice first: once cancelled, the command may return and
		// the process exit before a later write.
		fmt.Fprintln(stderr, "\ninterrupted: stopping (interrupt again to exit at once)")
		cancel()
		if _, ok := <-ch; !ok {
			return
		}
		atomicfile.RemoveTemps()
		os.Exit(cmdutil.ExitCancel)
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel()
	}
}

// Run executes args against the command tree and maps the result to an
// exit code, printing the error (and the usage for flag errors).
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	cmd := NewCmdRoot(f)
	cmd.SetArgs(ExpandNargs(args))
	c, err := cmd.ExecuteContextC(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	// cobra reports an unknown subcommand with a plain error from
	// Command.Find (no type to match): it is a usage error like an unknown flag.
	var fe *cmdutil.FlagError
	if !errors.As(err, &fe) && strings.HasPrefix(err.Error(), "unknown command ") {
		err = &cmdutil.FlagError{Err: err}
	}
	if ctx.Err() != nil && !errors.Is(err, cmdutil.ErrCancel) {
		err = fmt.Errorf("%w: %v", cmdutil.ErrCancel, err)
	}
	switch {
	case errors.Is(err, cmdutil.ErrSilent):
	case errors.As(err, &fe):
		fmt.Fprintln(f.IO.ErrOut, "Error:", err)
		if c != nil {
			fmt.Fprintln(f.IO.ErrOut)
			fmt.Fprint(f.IO.ErrOut, c.UsageString())
		}
	default:
		fmt.Fprintln(f.IO.ErrOut, "Error:", err)
	}
	return cmdutil.ExitCode(err)
}
