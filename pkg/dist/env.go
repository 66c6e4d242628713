// Package dist runs one evaluation across several processes, possibly on
// several machines, the way mmengine does for mmpretrain's
// tools/dist_test.sh (torchrun) and tools/slurm_test.sh (Slurm): each
// process (rank) reads its rank and the world size from the environment
// its launcher set (FromEnv), takes its share of the dataset as mmengine's
// DefaultSampler deals it (Sampler), and the per-rank results meet in a
// folder every rank can reach, in the layout of mmengine's
// collect_results_cpu (Group, Interleave): part_<rank>.pkl files that rank
// 0 merges back into dataset order before it evaluates.
//
// There is no torch.distributed process group: the shared folder is the
// only channel. Files appear there atomically (internal/atomicfile) and
// readers poll for them. Every rank writes a heartbeat, so a rank that
// dies is noticed by the others within the group's timeout, and a rank
// that fails says why in the folder, so that the others stop at once
// instead of waiting.
package dist

import (
	"fmt"
	"strconv"
	"strings"
)

// Launcher names, as mmpretrain's tools/test.py --launcher takes them.
const (
	LauncherNone    = "none"
	LauncherPyTorch = "pytorch"
	LauncherSlurm   = "slurm"
	LauncherMPI     = "mpi"
)

// Launchers lists the accepted --launcher values.
var Launchers = []string{LauncherNone, LauncherPyTorch, LauncherSlurm, LauncherMPI}

// Env is the distributed environment of one process.
type Env struct {
	Launcher   string
	Rank       int // RANK: 0 … WorldSize-1
	WorldSize  int // WORLD_SIZE
	LocalRank  int // LOCAL_RANK: the rank among the processes of this machine
	MasterAddr string
	MasterPort string
	// RunID names this run among others sharing a work dir: torchrun's
	// TORCHELASTIC_RUN_ID (its --rdzv-id), Slurm's job and step ids, or
	// MOBILEONE_RUN_ID; "" when the launcher gives none.
	RunID string
}

// Single is the environment of a run without a launcher.
var Single = Env{Launcher: LauncherNone, WorldSize: 1}

// Distributed reports whether more than one process takes part.
func (e Env) Distributed() bool { return e.WorldSize > 1 }

// EnvError is a missing or malformed launcher variable.
type EnvError struct {
	Launcher string
	Var      string
	Msg      string
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("dist: --launcher %s: environment variable %s %s", e.Launcher, e.Var, e.Msg)
}

// FromEnv reads the environment of the given launcher through getenv
// (os.LookupEnv), as mmengine's init_dist does:
//
//   - pytorch (torchrun, torch.distributed.launch, or set by hand, e.g. in
//     a Kubernetes Indexed Job): RANK, LOCAL_RANK and WORLD_SIZE are
//     required; MASTER_ADDR and MASTER_PORT are kept for the log.
//   - slurm (srun): SLURM_PROCID is the rank, SLURM_NTASKS the world size,
//     SLURM_LOCALID the local rank (0 when unset: there are no GPUs to
//     count); SLURM_NODELIST is required and its first host is the master
//     address unless MASTER_ADDR is set; MASTER_PORT defaults to 29500.
//   - mpi (mpirun): OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE and
//     OMPI_COMM_WORLD_LOCAL_RANK; MASTER_ADDR is required.
//   - none (or ""): one process, whatever the environment says.
func FromEnv(launcher string, getenv func(string) (string, bool)) (Env, error) {
	e := Env{Launcher: launcher}
	r := envReader{launcher: launcher, getenv: getenv}
	var rankVar, worldVar, localVar string
	switch launcher {
	case LauncherNone, "":
		return Single, nil
	case LauncherPyTorch:
		rankVar, worldVar, localVar = "RANK", "WORLD_SIZE", "LOCAL_RANK"
		e.Rank = r.int(rankVar)
		e.LocalRank = r.int(localVar)
		e.WorldSize = r.int(worldVar)
		e.MasterAddr, _ = getenv("MASTER_ADDR")
		e.MasterPort, _ = getenv("MASTER_PORT")
	case LauncherSlurm:
		rankVar, worldVar, localVar = "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"
		e.Rank = r.int(rankVar)
		e.WorldSize = r.int(worldVar)
		nodes := r.str("SLURM_NODELIST")
		if _, ok := getenv(localVar); ok {
			e.LocalRank = r.int(localVar)
		}
		var ok bool
		if e.MasterAddr, ok = getenv("MASTER_ADDR"); !ok && r.err == nil {
			var err error
			if e.MasterAddr, err = FirstHost(nodes); err != nil {
				r.fail("SLURM_NODELIST", err.Error())
			}
		}
		if e.MasterPort, ok = getenv("MASTER_PORT"); !ok {
			e.MasterPort = "29500" // torch.distributed's default port
		}
	case LauncherMPI:
		rankVar, worldVar, localVar = "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"
		e.LocalRank = r.int(localVar)
		e.MasterAddr = r.str("MASTER_ADDR")
		var ok bool
		if e.MasterPort, ok = getenv("MASTER_PORT"); !ok {
			e.MasterPort = "29500"
		}
		e.WorldSize = r.int(worldVar)
		e.Rank = r.int(rankVar)
	default:
		return Env{}, fmt.Errorf("dist: unknown launcher %q (want one of %s)", launcher, strings.Join(Launchers, ", "))
	}
	if r.err != nil {
		return Env{}, r.err
	}
	switch {
	case e.WorldSize < 1:
		return Env{}, &EnvError{launcher, worldVar, fmt.Sprintf("is %d: the world size must be at least 1", e.WorldSize)}
	case e.Rank < 0 || e.Rank >= e.WorldSize:
		return Env{}, &EnvError{launcher, rankVar, fmt.Sprintf("is %d: the rank must be in [0, %d)", e.Rank, e.WorldSize)}
	case e.LocalRank < 0:
		return Env{}, &EnvError{launcher, localVar, fmt.Sprintf("is %d: the local rank must not be negative", e.LocalRank)}
	}
	e.RunID = runID(getenv)
	return e, nil
}

// runID finds an identifier shared by the ranks of one run.
func runID(getenv func(string) (string, bool)) string {
	if v, ok := getenv("MOBILEONE_RUN_ID"); ok && v != "" {
		return v
	}
	if v, ok := getenv("TORCHELASTIC_RUN_ID"); ok && v != "" && v != "none" {
		return v
	}
	if v, ok := getenv("SLURM_JOB_ID"); ok && v != "" {
		if s, ok := getenv("SLURM_STEP_ID"); ok && s != "" {
			return v + "." + s
		}
		return v
	}
	return ""
}

// envReader reads required variables, keeping the first error.
type envReader struct {
	launcher string
	getenv   func(string) (string, bool)
	err      error
}

func (r *envReader) fail(name, msg string) {
	if r.err == nil {
		r.err = &EnvError{r.launcher, name, msg}
	}
}

func (r *envReader) str(name string) string {
	v, ok := r.getenv(name)
	if !ok {
		r.fail(name, "is not set")
	}
	return v
}

func (r *envReader) int(name string) int {
	v := r.str(name)
	if r.err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.fail(name, fmt.Sprintf("is %q, not an integer", v))
	}
	return n
}

// FirstHost returns the first host name of a Slurm node list, as
// `scontrol show hostname LIST | head -n1` prints it: "node[07-09,12],gpu1"
// gives "node07" (leading zeros kept).
func FirstHost(list string) (string, error) {
	list = strings.TrimSpace(list)
	// the first entry ends at the first comma outside brackets
	depth := 0
	end := len(list)
	for i, c := range list {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 && end == len(list) {
				end = i
			}
		}
	}
	entry := list[:end]
	if entry == "" {
		return "", fmt.Errorf("empty node list %q", list)
	}
	var b strings.Builder
	for entry != "" {
		open := strings.IndexByte(entry, '[')
		if open < 0 {
			b.WriteString(entry)
			break
		}
		closing := strings.IndexByte(entry[open:], ']')
		if closing < 0 {
			return "", fmt.Errorf("malformed node list %q: unclosed [", list)
		}
		b.WriteString(entry[:open])
		ranges := entry[open+1 : open+closing]
		first, _, _ := strings.Cut(ranges, ",")
		first, _, _ = strings.Cut(first, "-")
		if first == "" {
			return "", fmt.Errorf("malformed node list %q: empty range", list)
		}
		b.WriteString(first)
		entry = entry[open+closing+1:]
	}
	return b.String(), nil
}
