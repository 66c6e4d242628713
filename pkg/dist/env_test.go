package dist

import (
	"errors"
	"testing"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestFromEnv(t *testing.T) {
	cases := []struct {
		launcher string
		env      map[string]string
		want     Env
	}{
		{"none", map[string]string{"RANK": "3", "WORLD_SIZE": "4"}, Single},
		// torchrun --nproc-per-node 2 --nnodes 2, second node, second process
		{"pytorch", map[string]string{"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29400", "TORCHELASTIC_RUN_ID": "job7"},
			Env{Launcher: "pytorch", Rank: 3, LocalRank: 1, WorldSize: 4, MasterAddr: "10.0.0.1", MasterPort: "29400", RunID: "job7"}},
		// torchrun without --rdzv-id sets TORCHELASTIC_RUN_ID=none
		{"pytorch", map[string]string{"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "TORCHELASTIC_RUN_ID": "none"},
			Env{Launcher: "pytorch", WorldSize: 1}},
		// srun -N2 -n4: MASTER_ADDR from the node list, port 29500
		{"slurm", map[string]string{"SLURM_PROCID": "2", "SLURM_NTASKS": "4", "SLURM_LOCALID": "0", "SLURM_NODELIST": "gpu[07-08]", "SLURM_JOB_ID": "991", "SLURM_STEP_ID": "0"},
			Env{Launcher: "slurm", Rank: 2, LocalRank: 0, WorldSize: 4, MasterAddr: "gpu07", MasterPort: "29500", RunID: "991.0"}},
		{"slurm", map[string]string{"SLURM_PROCID": "1", "SLURM_NTASKS": "3", "SLURM_NODELIST": "a,b", "MASTER_ADDR": "head", "MASTER_PORT": "1234"},
			Env{Launcher: "slurm", Rank: 1, WorldSize: 3, MasterAddr: "head", MasterPort: "1234"}},
		{"mpi", map[string]string{"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_LOCAL_RANK": "1", "MASTER_ADDR": "h", "MOBILEONE_RUN_ID": "r1"},
			Env{Launcher: "mpi", Rank: 1, LocalRank: 1, WorldSize: 2, MasterAddr: "h", MasterPort: "29500", RunID: "r1"}},
	}
	for _, c := range cases {
		got, err := FromEnv(c.launcher, lookup(c.env))
		if err != nil {
			t.Errorf("%s %v: %v", c.launcher, c.env, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s %v:\n got %+v\nwant %+v", c.launcher, c.env, got, c.want)
		}
	}
}

func TestFromEnvErrors(t *testing.T) {
	cases := []struct {
		launcher string
		env      map[string]string
		wantVar  string
	}{
		{"pytorch", map[string]string{"WORLD_SIZE": "2", "LOCAL_RANK": "0"}, "RANK"},
		{"pytorch", map[string]string{"RANK": "0", "WORLD_SIZE": "2"}, "LOCAL_RANK"},
		{"pytorch", map[string]string{"RANK": "x", "LOCAL_RANK": "0", "WORLD_SIZE": "2"}, "RANK"},
		{"pytorch", map[string]string{"RANK": "2", "LOCAL_RANK": "0", "WORLD_SIZE": "2"}, "RANK"},
		{"pytorch", map[string]string{"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "0"}, "WORLD_SIZE"},
		{"pytorch", map[string]string{"RANK": "0", "LOCAL_RANK": "-1", "WORLD_SIZE": "1"}, "LOCAL_RANK"},
		{"slurm", map[string]string{"SLURM_PROCID": "0", "SLURM_NTASKS": "2"}, "SLURM_NODELIST"},
		{"slurm", map[string]string{"SLURM_NTASKS": "2", "SLURM_NODELIST": "n1"}, "SLURM_PROCID"},
		{"slurm", map[string]string{"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_NODELIST": "n[1-2"}, "SLURM_NODELIST"},
		{"mpi", map[string]string{"OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "1", "OMPI_COMM_WORLD_LOCAL_RANK": "0"}, "MASTER_ADDR"},
	}
	for _, c := range cases {
		_, err := FromEnv(c.launcher, lookup(c.env))
		var ee *EnvError
		if !errors.As(err, &ee) || ee.Var != c.wantVar {
			t.Errorf("%s %v: got %v, want an EnvError naming %s", c.launcher, c.env, err, c.wantVar)
		}
	}
	if _, err := FromEnv("deepspeed", lookup(nil)); err == nil {
		t.Error("unknown launcher: no error")
	}
}

// What `scontrol show hostname LIST | head -n1` prints.
func TestFirstHost(t *testing.T) {
	for in, want := range map[string]string{
		"node1":                   "node1",
		"node[07-09,12],gpu1":     "node07",
		"gpu1,node[1-3]":          "gpu1",
		"rack[2-3]-node[010-020]": "rack2-node010",
		" cn[5,1-3] ":             "cn5",
	} {
		got, err := FirstHost(in)
		if err != nil || got != want {
			t.Errorf("FirstHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "n[1-2", "n[]"} {
		if _, err := FirstHost(bad); err == nil {
			t.Errorf("FirstHost(%q): no error", bad)
		}
	}
}
