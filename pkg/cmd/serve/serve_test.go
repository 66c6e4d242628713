package serve

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/serve"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	ios, _, _, _ := cmdutil.Test()
	var got *Options
	cmd := NewCmdServe(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(ios.ErrOut)
	cmd.SetErr(ios.ErrOut)
	return got, cmd.Execute()
}

func TestServeFlags(t *testing.T) {
	o, err := parse(t, "configs/my-s0_deploy.py", "s0.pth")
	if err != nil {
		t.Fatal(err)
	}
	s := o.Server
	if o.Host != "127.0.0.1" || o.Port != 8080 || s.Model != "my-s0_deploy" || s.MaxBatch != serve.DefaultMaxBatch ||
		s.MaxDelay != serve.DefaultMaxDelay || s.MaxBodyBytes != serve.DefaultMaxBodyBytes || s.Workers < 1 || o.Grace != 30*time.Second {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parse(t, "c.py", "c.pth", "--port", "0", "--model-name", "m", "--max-batch", "32", "--max-delay", "0", "--max-body", "1000", "--timeout", "2s")
	if err != nil || o.Port != 0 || o.Server.Model != "m" || o.Server.MaxBatch != 32 || o.Server.MaxDelay != 0 || o.Server.MaxBodyBytes != 1000 || o.Server.Timeout != 2*time.Second {
		t.Errorf("%v %+v", err, o)
	}
	for _, args := range [][]string{
		{"c.py", "c.pth", "--max-batch", "0"}, {"c.py", "c.pth", "--port", "70000"}, {"c.py", "c.pth", "--model-name", "a/b"},
		{"c.py", "c.pth", "--max-delay", "-1s"}, {"c.py", "c.pth", "--timeout", "0s"}, {"c.py", "c.pth", "--max-pixels", "0"},
	} {
		if _, err := parse(t, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// A config or checkpoint that does not load stops serve before it listens.
func TestServeBadCheckpoint(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	o := &Options{IO: ios, Config: fixtures.Testdata(t, "demo/mobileone-tiny_demo_deploy.py"), Checkpoint: "no-such.pth", Host: "127.0.0.1", Port: 0}
	err := run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "no-such.pth") {
		t.Errorf("got %v", err)
	}
}
