//go:build race

package kernels

// raceEnabled: sync.Pool drops items on purpose under -race, so the
// allocation test cannot hold there.
const raceEnabled = true
