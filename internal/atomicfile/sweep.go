package atomicfile

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// StaleAge is how long a temporary file of ours must have gone unmodified
// before Sweep removes it when it cannot tell whether its writer still
// runs (a file from another host, or of the older naming without a pid).
const StaleAge = time.Hour

var (
	// .<name>.tmp-<host>-<pid>-<random>: written by this package.
	tempName = regexp.MustCompile(`^\..+\.tmp-([0-9a-f]{8})-([0-9]+)-[0-9]+$`)
	// .<name>.tmp-<random>: the naming of earlier versions.
	oldTempName = regexp.MustCompile(`^\..+\.tmp-[0-9]+$`)
)

// Sweep removes the stale temporary files this package left in dir when a
// writer was killed before it could clean up, and returns their paths. Only
// regular files named as this package names them are considered, and only
// when stale: written from this host by a process that no longer runs, or
// (when that cannot be known) not modified for StaleAge. Files being
// written by a live process, and every other file, are left alone.
func Sweep(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	now := time.Now()
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		m := tempName.FindStringSubmatch(name)
		if m == nil && !oldTempName.MatchString(name) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		stale := now.Sub(info.ModTime()) > StaleAge
		if m != nil && m[1] == hostTag {
			pid, err := strconv.Atoi(m[2])
			stale = err == nil && pid != os.Getpid() && !processAlive(pid)
		}
		if !stale {
			continue
		}
		p := filepath.Join(dir, name)
		if os.Remove(p) == nil {
			removed = append(removed, p)
		}
	}
	return removed, nil
}
