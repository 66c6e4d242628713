// Package serve implements `mobileone serve`: an HTTP inference server with
// TorchServe's inference API shape (what mmpretrain's
// mmpretrain2torchserve.py prepares a model for).
package serve

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/serve"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// Options are the parsed arguments of serve.
type Options struct {
	IO          *cmdutil.IOStreams
	Config      string
	Checkpoint  string
	CfgOptions  []string
	Host        string
	Port        int
	Server      serve.Options
	ReadTimeout time.Duration
	Grace       time.Duration
}

// NewCmdServe returns the serve command.
func NewCmdServe(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	var maxBody int64
	cmd := &cobra.Command{
		Use:   "serve CONFIG CHECKPOINT",
		Short: "Serve a checkpoint over HTTP with TorchServe's inference API",
		Long: `Serve a checkpoint over HTTP with TorchServe's inference API shape:

  POST /predictions/{model}   an image as the body (any Content-Type image/*,
                              application/octet-stream, or none), or as the one
                              file of a multipart/form-data body; PUT works too
                              (curl -T). The answer is infer --json's object
                              for the image.
  GET  /ping                  {"status": "Healthy"}
  GET  /models                the served model
  GET  /models/{model}        describes it (batch size, delay, workers)
  GET  /metrics               Prometheus metrics: requests by code, errors by
                              reason, latency and batch-size histograms

Concurrent requests are batched: up to --max-batch images that arrive within
--max-delay of each other share one forward pass. Images are decoded and
preprocessed (the config's test pipeline, as infer) by --workers goroutines.
Errors are TorchServe's {"code", "type", "message"}: 404 for another model
name, 413 for a body over --max-body or an image over --max-pixels (read from
its header, before decoding), 415 for another Content-Type, 400 for an empty
body or a corrupt image, 429 beyond --max-inflight requests, 503 past
--timeout. A client slower than --read-timeout to send its request is cut off.
SIGTERM or SIGINT stops accepting connections and finishes the requests in
flight (up to --grace) before exiting.`,
		Example: `  mobileone serve mobileone-s0_deploy_8xb32_in1k s0_deploy.pth --port 8080
  curl -T cat.jpg http://127.0.0.1:8080/predictions/mobileone-s0_deploy_8xb32_in1k
  curl -F data=@cat.jpg http://127.0.0.1:8080/predictions/mobileone-s0_deploy_8xb32_in1k`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: printconfig.CompleteConfig, // CONFIG first, then files
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config, opts.Checkpoint = args[0], args[1]
			o := &opts.Server
			if o.Model == "" {
				o.Model = strings.TrimSuffix(filepath.Base(opts.Config), ".py")
			}
			if strings.ContainsAny(o.Model, "/?#") {
				return cmdutil.FlagErrorf("--model-name %q must not contain /, ? or #", o.Model)
			}
			o.MaxBodyBytes = maxBody
			for _, c := range []struct {
				name string
				v    int64
			}{{"--port", int64(opts.Port) + 1}, {"--max-batch", int64(o.MaxBatch)}, {"--workers", int64(o.Workers)},
				{"--max-body", o.MaxBodyBytes}, {"--max-pixels", o.MaxPixels}, {"--max-inflight", int64(o.MaxInFlight)}, {"--topk", int64(o.TopK)}} {
				if c.v < 1 {
					return cmdutil.FlagErrorf("%s must be positive, got %d", c.name, c.v)
				}
			}
			if opts.Port > 65535 {
				return cmdutil.FlagErrorf("--port %d is not a port", opts.Port)
			}
			if o.MaxDelay < 0 || o.Timeout <= 0 || opts.ReadTimeout <= 0 || opts.Grace <= 0 {
				return cmdutil.FlagErrorf("--max-delay must not be negative; --timeout, --read-timeout and --grace must be positive")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	fl.StringVar(&opts.Host, "host", "127.0.0.1", "address to listen on (0.0.0.0: every interface)")
	fl.IntVar(&opts.Port, "port", 8080, "port to listen on (0: any free port, printed at start)")
	fl.StringVar(&opts.Server.Model, "model-name", "", "the model's name in /predictions/{model} (default: the config's name)")
	fl.IntVar(&opts.Server.MaxBatch, "max-batch", serve.DefaultMaxBatch, "images per forward pass, at most")
	fl.DurationVar(&opts.Server.MaxDelay, "max-delay", serve.DefaultMaxDelay, "how long a batch waits for more images (0: only those already waiting)")
	fl.IntVar(&opts.Server.Workers, "workers", runtime.NumCPU(), "images decoded and preprocessed at once")
	fl.Int64Var(&maxBody, "max-body", serve.DefaultMaxBodyBytes, "largest request body in bytes (TorchServe's max_request_size)")
	fl.Int64Var(&opts.Server.MaxPixels, "max-pixels", serve.DefaultMaxPixels, "largest image, width × height")
	fl.IntVar(&opts.Server.MaxInFlight, "max-inflight", serve.DefaultMaxInFlight, "requests handled at once; more are answered 429")
	fl.DurationVar(&opts.Server.Timeout, "timeout", serve.DefaultTimeout, "longest time from a request's arrival to its answer (503 after)")
	fl.DurationVar(&opts.ReadTimeout, "read-timeout", 30*time.Second, "longest time to receive a request, body included (slower clients are cut off)")
	fl.DurationVar(&opts.Grace, "grace", 30*time.Second, "on SIGTERM, how long the requests in flight may take to finish")
	fl.IntVarP(&opts.Server.TopK, "topk", "k", serve.DefaultTopK, "classes per answer")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	cfg, mc, err := setup.Load(opts.Config, opts.CfgOptions)
	if err != nil {
		return err
	}
	pipe, err := setup.Pipeline(cfg, "test_dataloader.dataset.pipeline", nil)
	if err != nil {
		return err
	}
	norm, err := setup.Normalizer(cfg)
	if err != nil {
		return err
	}
	loaded, err := setup.LoadModel(ctx, mc, opts.Checkpoint, opts.IO.ErrOut, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	so := opts.Server
	so.ModelURL = opts.Checkpoint
	srv, err := serve.New(loaded.Model.NewPredictor(), pipe, norm, loaded.Classes, so)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		srv.Close()
		return err
	}
	o := srv.Options()
	fmt.Fprintf(opts.IO.ErrOut, "Serving %s (%s) at http://%s/predictions/%s (max batch %d, max delay %s, %d workers)\n",
		o.Model, loaded.Path, l.Addr(), o.Model, o.MaxBatch, o.MaxDelay, o.Workers)
	if err := serve.Serve(ctx, l, srv, serve.HTTPOptions{ReadTimeout: opts.ReadTimeout, Grace: opts.Grace}); err != nil {
		return err
	}
	fmt.Fprintln(opts.IO.ErrOut, "Server stopped: every request in flight was answered.")
	return nil
}
