package memlimit

import "syscall"

// physical returns the machine's RAM in bytes (sysinfo(2)).
func physical() int64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
